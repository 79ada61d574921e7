"""Score Now falls back to Productive, for the client's linked Productive company, when the ledger has no
invoices for the client; the monthly recalculation refreshes linked clients' Productive revenue first."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from productive_testkit import ORGANIZATION, TOKEN, productive_stand_in, sample_invoice
from tiering_testkit import EXECUTIVE, add_client, as_user, invoice, running_tiering_service

from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

RATINGS = {"profitability": 3, "strategic_value": 3, "relationship_quality": 3}


async def test_score_now_uses_productive_only_when_the_ledger_has_nothing(tmp_path: Path, clean_nats: str) -> None:
    recent = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    async with productive_stand_in() as productive:
        productive.invoices = [
            sample_invoice("p-1", "pc-77", recent, "9000000"),  # EUR 90,000.00
            sample_invoice("p-2", "pc-77", recent, "-1000000", credit=True),  # credit EUR 10,000.00
            sample_invoice("p-3", "pc-77", recent, "1000000", currency="USD"),  # USD 10,000 → EUR 9,000
            sample_invoice("p-4", "pc-both", recent, "99900000"),
            sample_invoice("p-5", "c-fallback", recent, "99900000"),  # clientpulse's own id: never asked for
        ]
        productive.throttle_first = 1
        async with running_tiering_service(
            f"sqlite+aiosqlite:///{tmp_path / 'tiering.db'}",
            clean_nats,
            productive_base_url=productive.url,
            productive_token=TOKEN,
            productive_organization_id=ORGANIZATION,
            productive_page_size=2,
            exchange_rates=[{"currency": "USD", "valid_from": "2020-01-01", "rate": "0.9"}],
        ) as api:
            await add_client(api, clean_nats, "c-fallback")
            await add_client(api, clean_nats, "c-both")
            unlinked = await api.post(
                "/api/v1/clients/c-fallback/tiering/scores",
                json={"track": "managed_delivery", "ratings": RATINGS},
                headers=as_user(EXECUTIVE),
            )
            assert unlinked.json()["receipt"]["revenue_source"] == "none"
            assert productive.requests == []  # not linked: Productive is not asked by clientpulse's client id
            for client_id, company in (("c-fallback", "pc-77"), ("c-both", "pc-both")):
                linked = await api.put(
                    f"/api/v1/clients/{client_id}/tiering/productive-link",
                    json={"company_id": company},
                    headers=as_user(EXECUTIVE),
                )
                assert linked.status_code == 200, linked.text
            response = await api.post(
                "/api/v1/clients/c-fallback/tiering/scores",
                json={"track": "managed_delivery", "ratings": RATINGS},
                headers=as_user(EXECUTIVE),
            )
            assert response.status_code == 201, response.text
            receipt = response.json()["receipt"]
            assert (receipt["revenue_source"], receipt["revenue_minor"], receipt["money_rating"]) == (
                "productive",
                8_900_000,
                3,
            )  # fmt: skip  EUR 89,000 → band 3
            assert productive.requests[0]["headers"]["X-Auth-Token"] == TOKEN
            assert {r["query"]["filter[company_id]"] for r in productive.requests} == {"pc-77"}

            await publish_envelopes(clean_nats, [invoice("l-1", "c-both", 1_000_000)])

            async def ledger_has_it() -> bool:
                body = (await api.get("/api/v1/clients/c-both/tiering", headers=as_user(EXECUTIVE))).json()
                return bool(body["trailing_revenue"])

            assert await wait_until(ledger_has_it, within=15)
            asked = len(productive.requests)
            both = await api.post(
                "/api/v1/clients/c-both/tiering/scores",
                json={"track": "managed_delivery", "ratings": RATINGS},
                headers=as_user(EXECUTIVE),
            )
            assert (both.json()["receipt"]["revenue_source"], both.json()["receipt"]["revenue_minor"]) == (
                "ledger", 1_000_000,
            )  # fmt: skip
            assert len(productive.requests) == asked  # the ledger answered; Productive was not asked
