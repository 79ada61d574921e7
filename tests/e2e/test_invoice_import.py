"""10,000 invoices imported through the gateway as an Executive: every row is reported, the ledger holds
each client's revenue, and rescoring moves each client into the band its revenue gives. The import's
time is printed (``-s``) as a figure, never asserted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import System, eventually, logs

from clientpulse.shared.identity import Role

pytestmark = pytest.mark.e2e

RATINGS = {"profitability": 3, "strategic_value": 3, "relationship_quality": 3}
ROWS_PER_CLIENT = 2000
# Invoice amount in euro cents per client, and the band its 2,000 invoices (a year's revenue) must give.
AMOUNTS_AND_BANDS = ((1_000, 1), (2_500, 2), (5_000, 3), (10_000, 4), (20_000, 5))  # EUR 20k … 400k


def new_client(executive, name: str) -> str:
    company = executive.post("/api/v1/companies", json={"name": name})
    assert company.status_code == 201, company.text
    client = executive.post(
        f"/api/v1/companies/{company.json()['id']}/convert",
        json={"status": "Active", "dm_id": "u-42", "squad_id": "s-1"},
    )
    assert client.status_code == 201, client.text
    return str(client.json()["id"])


def invoice_file(clients: list[str]) -> str:
    today = datetime.now(UTC).date()
    lines = ["invoice_id,client_id,issued_on,amount_minor,currency"]
    for client_id, (amount, _band) in zip(clients, AMOUNTS_AND_BANDS, strict=True):
        for n in range(ROWS_PER_CLIENT):
            day = today - timedelta(days=n % 300)
            lines.append(f"bulk-{client_id}-{n},{client_id},{day.isoformat()},{amount},EUR")
    return "\n".join(lines) + "\n"


def test_ten_thousand_invoices_through_the_gateway_move_clients_into_their_bands(system: System) -> None:
    with system.api(Role.EXECUTIVE, "u-exec", timeout=120) as executive:
        clients = [new_client(executive, f"Bulk Invoiced {band}") for _amount, band in AMOUNTS_AND_BANDS]
        for client_id in clients:
            known = eventually(lambda c=client_id: executive.get(f"/api/v1/clients/{c}/tiering").status_code == 200)
            assert known, logs(system)
            first = executive.post(
                f"/api/v1/clients/{client_id}/tiering/scores", json={"track": "managed_delivery", "ratings": RATINGS}
            )
            assert first.json()["receipt"]["money_rating"] == 1  # nothing invoiced yet
        body = invoice_file(clients)
        began = time.perf_counter()
        response = executive.post("/api/v1/tiering/invoices/import", content=body, headers={"content-type": "text/csv"})
        seconds = time.perf_counter() - began
        assert response.status_code == 200, response.text
        report = response.json()
        print(f"\nimported 10,000 invoices ({len(body):,} bytes of CSV) through the gateway in {seconds:.2f}s")
        assert (report["created"], report["unchanged"], report["rejected"], report["clients"]) == (10_000, 0, 0, 5)
        assert [r["row"] for r in report["rows"]] == list(range(1, 10_001))
        for client_id, (amount, band) in zip(clients, AMOUNTS_AND_BANDS, strict=True):
            revenue = executive.get(f"/api/v1/clients/{client_id}/tiering").json()["trailing_revenue"]
            assert revenue == [{"currency": "EUR", "amount_minor": amount * ROWS_PER_CLIENT, "invoices": 2000}]
            rescored = executive.post(
                f"/api/v1/clients/{client_id}/tiering/scores", json={"track": "managed_delivery", "ratings": RATINGS}
            )
            assert rescored.json()["receipt"]["money_rating"] == band, (client_id, amount)
        again = executive.post(
            "/api/v1/tiering/invoices/import", content=body, headers={"content-type": "text/csv"}
        ).json()
        assert (again["created"], again["unchanged"], again["rejected"]) == (0, 10_000, 0)
    with system.api(Role.HEAD, "u-head") as head:
        assert (
            head.post("/api/v1/tiering/invoices/import", content=body, headers={"content-type": "text/csv"}).status_code
            == 403
        )
