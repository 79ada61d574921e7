"""A client linked to its Productive company: Executives and Heads link and unlink it, and the monthly
recalculation asks Productive (throttled at first) for linked clients without ledger invoices before it
scores them, and for no one else."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from productive_testkit import ORGANIZATION, TOKEN, productive_stand_in, sample_invoice
from tiering_testkit import (
    EXECUTIVE,
    HEAD,
    MANAGER_S1,
    MANAGER_S2,
    add_client,
    as_user,
    invoice,
    running_tiering_service,
)

from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

STRONG = {"profitability": 4, "strategic_value": 4, "relationship_quality": 4}  # 2.60 + 0.35 × band


async def score(api, client_id: str) -> dict:
    response = await api.post(
        f"/api/v1/clients/{client_id}/tiering/scores",
        json={"track": "managed_delivery", "ratings": STRONG},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return response.json()["current"]


async def link(api, client_id: str, company_id: str, who=EXECUTIVE):
    return await api.put(
        f"/api/v1/clients/{client_id}/tiering/productive-link", json={"company_id": company_id}, headers=as_user(who)
    )


async def tiering(api, client_id: str) -> dict:
    return (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()


async def test_the_recalculation_refreshes_linked_clients_from_productive(database_url: str, clean_nats: str) -> None:
    today = datetime.now(UTC).date()
    period = f"{today.year:04d}-{today.month:02d}"
    recent = (today - timedelta(days=3)).isoformat()
    async with (
        productive_stand_in() as productive,
        running_tiering_service(
            database_url,
            clean_nats,
            productive_base_url=productive.url,
            productive_token=TOKEN,
            productive_organization_id=ORGANIZATION,
        ) as api,
    ):
        for client_id in ("c-linked", "c-ledger", "c-unlinked"):
            await add_client(api, clean_nats, client_id)
            assert (await score(api, client_id))["effective_tier"] == "Standard"  # 2.95: nothing invoiced
        await check_who_may_link(api)
        assert (await link(api, "c-ledger", "pc-ledger")).status_code == 200
        await publish_envelopes(clean_nats, [invoice("l-1", "c-ledger", 1_000_000)])

        async def in_ledger() -> bool:
            return bool((await tiering(api, "c-ledger"))["trailing_revenue"])

        assert await wait_until(in_ledger, within=15)
        # Productive now knows EUR 400,000 of pc-linked's invoices (band 5), and throttles the first ask.
        productive.invoices = [
            sample_invoice("p-1", "pc-linked", recent, "30000000"),
            sample_invoice("p-2", "pc-linked", recent, "10000000"),
            sample_invoice("p-3", "pc-ledger", recent, "99900000"),
        ]
        productive.throttle_first = 1
        productive.requests.clear()
        requested = await api.post(
            "/api/v1/tiering/recalculations", json={"period": period}, headers=as_user(EXECUTIVE)
        )
        assert requested.status_code == 202, requested.text

        async def ran() -> bool:
            body = (await api.get("/api/v1/tiering/recalculations", headers=as_user(EXECUTIVE))).json()
            return bool(body["items"])

        assert await wait_until(ran, within=30)
        current = (await tiering(api, "c-linked"))["current"]
        assert (current["revenue_source"], current["revenue_minor"], current["money_rating"]) == (
            "productive", 40_000_000, 5,
        )  # fmt: skip
        assert (current["score"], current["effective_tier"]) == ("4.35", "Platinum")
        asked = [r["query"]["filter[company_id]"] for r in productive.requests]
        assert asked == ["pc-linked", "pc-linked"]  # throttled once, asked again; pc-ledger has ledger invoices
        shown = (await link(api, "c-linked", "pc-linked")).json()
        assert (shown["revenue_minor"], shown["revenue_invoices"]) == (40_000_000, 2)
        assert (await tiering(api, "c-unlinked"))["current"]["revenue_source"] == "none"
        assert (await tiering(api, "c-ledger"))["current"]["revenue_source"] == "ledger"


async def check_who_may_link(api) -> None:
    """Executives and Heads link; the client's Manager is refused by role, another squad's finds no client."""
    assert (await link(api, "c-linked", "pc-old", HEAD)).status_code == 200
    assert (await link(api, "c-linked", "pc-linked", MANAGER_S1)).status_code == 403  # its own squad's Manager
    assert (await link(api, "c-linked", "pc-linked", MANAGER_S2)).status_code == 404  # as an unknown client
    assert (await link(api, "c-linked", "has spaces")).status_code in (400, 422)
    assert (await link(api, "c-nobody", "pc-1")).status_code == 404
    relinked = await link(api, "c-linked", "pc-linked")
    assert (relinked.json()["company_id"], relinked.json()["linked_by"]) == ("pc-linked", "u-exec")
    assert (await tiering(api, "c-linked"))["productive_company_id"] == "pc-linked"
    assert (await link(api, "c-unlinked", "pc-gone")).status_code == 200
    gone = await api.delete("/api/v1/clients/c-unlinked/tiering/productive-link", headers=as_user(HEAD))
    assert (gone.status_code, gone.json()["company_id"]) == (200, None)
    assert (await tiering(api, "c-unlinked"))["productive_company_id"] is None
