"""Invoices imported from CSV or JSON: each row created, unchanged or rejected with its row, field and reason,
idempotent by invoice id, by the same ledger rule as InvoicePosted; Executives only; and the operator's
``clientpulse-tiering import-invoices FILE``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import EXECUTIVE, HEAD, MANAGER_S1, add_client, as_user, invoice, running_tiering_service

from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until
from clientpulse.tiering.cli import main as tiering_cli

pytestmark = pytest.mark.integration

RECENT = {f"2026-11-0{n}": (datetime.now(UTC).date() - timedelta(days=10 - n)).isoformat() for n in (1, 2, 3, 5)}


def recent(text: str) -> str:
    """The text with its November 2026 days moved into the last ten days (the trailing year's window)."""
    for written, day in RECENT.items():
        text = text.replace(written, day)
    return text


CSV_WRITTEN = """invoice_id,client_id,number,issued_on,amount,amount_minor,currency,is_credit_note
i-1,c-a,2026-001,2026-11-02,1200.50,,EUR,
i-2,c-a,,2026-11-03,,-5000,EUR,
i-3,c-a,,2026-11-03,300,,EUR,true
i-1,c-a,2026-001,2026-11-02,1200.50,,EUR,
i-1,c-a,2026-001,2026-11-02,999.00,,EUR,
i-4,c-b,,2026-13-01,10,,EUR,
i-5,c-b,,2026-11-01,10,,EURO,
i-6,c-b,,2026-11-01,10,1000,EUR,
i-7,c-b,,2026-11-01,10.001,,EUR,
i-8,c-b,,2026-11-01,5000,,JPY,
i-9,,,2026-11-01,10,,EUR,
i-10,c-b,,2026-11-01,10,,EUR,maybe
"""
CSV = recent(CSV_WRITTEN)


def outcomes(report: dict) -> list[tuple[int, str, str | None]]:
    return [(r["row"], r["outcome"], r["field"]) for r in report["rows"]]


async def post_file(api, body: str | bytes, media: str, who=EXECUTIVE):
    return await api.post(
        "/api/v1/tiering/invoices/import", content=body, headers={**as_user(who), "content-type": media}
    )


async def ledger(api, client_id: str) -> list[dict]:
    body = (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()
    return body["trailing_revenue"]


async def test_an_import_reports_every_row_and_is_idempotent(database_url: str, clean_nats: str) -> None:
    async with running_tiering_service(database_url, clean_nats) as api:
        await add_client(api, clean_nats, "c-a")
        response = await post_file(api, CSV, "text/csv")
        assert response.status_code == 200, response.text
        report = response.json()
        assert outcomes(report) == [
            (1, "created", None),
            (2, "created", None),
            (3, "created", None),
            (4, "unchanged", None),  # the same invoice as row 1
            (5, "rejected", "amount_minor"),  # row 1's invoice id with another amount
            (6, "rejected", "issued_on"),
            (7, "rejected", "currency"),
            (8, "rejected", "row"),  # both amount and amount_minor
            (9, "rejected", "amount"),  # more decimals than EUR has
            (10, "created", None),  # JPY has no minor unit: 5000 is 5000
            (11, "rejected", "client_id"),
            (12, "rejected", "is_credit_note"),
        ]
        assert (report["created"], report["unchanged"], report["rejected"], report["clients"]) == (4, 1, 7, 2)
        reasons = {r["row"]: r["reason"] for r in report["rows"]}
        assert reasons[5] == "invoice i-1 is on row 1 with amount_minor 120050, here 99900"
        assert "more than 2 decimals" in reasons[9]
        assert "exactly one of amount" in reasons[8]
        # Credit notes are negative whichever way the file said so; the ledger holds what the rule made.
        expected = [{"currency": "EUR", "amount_minor": 120_050 - 5_000 - 30_000, "invoices": 3}]
        assert await ledger(api, "c-a") == expected

        again = (await post_file(api, CSV, "text/csv")).json()
        assert (again["created"], again["unchanged"], again["rejected"]) == (0, 5, 7)
        assert again["rows"][0]["reason"] == "already in the ledger"

        # JSON, an invoice already in the ledger with other values, and one that billing then also publishes.
        rows = [
            {
                "invoice_id": "i-1",
                "client_id": "c-a",
                "number": "2026-001",
                "issued_on": "2026-11-02",
                "amount_minor": 1,
                "currency": "EUR",
            },
            {"invoice_id": "j-1", "client_id": "c-a", "issued_on": "2026-11-05", "amount": "100", "currency": "eur"},
            "not an object",
        ]
        report = (await post_file(api, recent(json.dumps(rows)), "application/json")).json()
        assert outcomes(report) == [(1, "rejected", "amount_minor"), (2, "created", None), (3, "rejected", "row")]
        assert "post a credit note" in report["rows"][0]["reason"]
        await publish_envelopes(clean_nats, [invoice("j-1", "c-a", 10_000)])
        await asyncio.sleep(1)
        assert (await ledger(api, "c-a"))[0]["invoices"] == 4  # the event found the imported invoice: no change


async def test_bad_files_and_callers_are_refused(database_url: str, clean_nats: str) -> None:
    async with running_tiering_service(database_url, clean_nats) as api:
        for who in (HEAD, MANAGER_S1):
            assert (await post_file(api, CSV, "text/csv", who)).status_code == 403
        cases = [
            ("invoice_id,amount\ni-1,10\n", "text/csv", "lacks client_id, issued_on, currency"),
            ("invoice_id,client_id,issued_on,currency,colour\n", "text/csv", "unknown CSV columns colour"),
            ('{"invoice_id": "x"}', "application/json", "must be an array"),
            ("[]", "application/json", "no rows"),
            ("a,b", "text/plain", "send text/csv or application/json"),
        ]
        for body, media, detail in cases:
            response = await post_file(api, body, media)
            assert response.status_code == 422, response.text
            assert detail in response.json()["detail"]


async def test_operators_import_a_file_from_the_command_line(
    database_url: str, clean_nats: str, tmp_path: Path, monkeypatch
) -> None:
    async with running_tiering_service(database_url, clean_nats) as api:
        await add_client(api, clean_nats, "c-cli")
        good = tmp_path / "invoices.csv"
        good.write_text(recent("invoice_id,client_id,issued_on,amount,currency\nk-1,c-cli,2026-11-01,75000.00,EUR\n"))
        bad = tmp_path / "more.json"
        bad.write_text(json.dumps([{"invoice_id": "k-2", "client_id": "c-cli", "issued_on": "x", "currency": "EUR"}]))
        monkeypatch.setenv("CLIENTPULSE_TIERING_DATABASE_URL", database_url)
        assert await asyncio.to_thread(tiering_cli, ["import-invoices", str(good)]) == 0
        assert await asyncio.to_thread(tiering_cli, ["import-invoices", str(good)]) == 0  # unchanged the 2nd time
        assert await asyncio.to_thread(tiering_cli, ["import-invoices", str(bad)]) == 1  # a rejected row
        assert await asyncio.to_thread(tiering_cli, ["import-invoices", str(tmp_path / "none.csv")]) == 2

        async def imported() -> bool:
            return await ledger(api, "c-cli") == [{"currency": "EUR", "amount_minor": 7_500_000, "invoices": 1}]

        assert await wait_until(imported, within=5)
