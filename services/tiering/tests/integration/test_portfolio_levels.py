"""A group's portfolio covers every level below its parent (children of children), a hierarchy that
loops is refused, and a change of a group's portfolio tier is published once (PortfolioTierChanged)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import EXECUTIVE, add_client, as_user, invoice, running_tiering_service, stream_events

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ClientGroupChanged
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

TOP = {"profitability": 5, "strategic_value": 5, "relationship_quality": 5}
LOW = {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}


async def score(api, client_id: str, ratings: dict[str, int]) -> None:
    response = await api.post(
        f"/api/v1/clients/{client_id}/tiering/scores",
        json={"track": "managed_delivery", "ratings": ratings},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text


async def portfolio(api, group_id: str):
    return await api.get(f"/api/v1/groups/{group_id}/portfolio", headers=as_user(EXECUTIVE))


async def test_every_level_rolls_up_and_tier_changes_are_published(database_url: str, clean_nats: str) -> None:
    async with running_tiering_service(database_url, clean_nats) as api:
        await add_client(api, clean_nats, "top")
        await add_client(api, clean_nats, "mid", parent_id="top")
        await add_client(api, clean_nats, "leaf", parent_id="mid")
        await add_client(api, clean_nats, "other", parent_id="top")
        await publish_envelopes(clean_nats, [invoice("v-1", "leaf", 40_000_000), invoice("v-2", "other", 40_000_000)])

        async def invoiced() -> bool:
            for client_id in ("leaf", "other"):
                body = (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()
                if not body["trailing_revenue"]:
                    return False
            return True

        assert await wait_until(invoiced, within=15)
        await score(api, "leaf", TOP)  # 5.00: mid and top roll up to Platinum
        rolled = (await portfolio(api, "top")).json()
        assert sorted(m["client_id"] for m in rolled["members"]) == ["leaf", "mid", "other", "top"]
        assert (rolled["combined_revenue_minor"], rolled["score"], rolled["tier"]) == (80_000_000, "5.00", "Platinum")
        await score(api, "other", LOW)  # top: band 5, ratings (400k×5 + 400k×1)/800k = 3 → 3.70 Core
        rolled = (await portfolio(api, "top")).json()
        assert (rolled["score"], rolled["tier"]) == ("3.70", "Core")
        assert rolled["tier_distribution"] == {"Platinum": 1, "Standard": 1, "Unscored": 2}
        await score(api, "other", LOW)  # the same again: no change to announce
        # A credit note leaves "other" EUR 10,000; the monthly recalculation rolls every group up again:
        # top's ratings (400k×5 + 10k×1)/410k ≈ 4.90 → Platinum again.
        await publish_envelopes(clean_nats, [invoice("v-3", "other", -39_000_000)])

        async def credited() -> bool:
            body = (await api.get("/api/v1/clients/other/tiering", headers=as_user(EXECUTIVE))).json()
            return body["trailing_revenue"][0]["invoices"] == 2

        assert await wait_until(credited, within=15)
        today = datetime.now(UTC).date()
        requested = await api.post(
            "/api/v1/tiering/recalculations", json={"period": f"{today:%Y-%m}"}, headers=as_user(EXECUTIVE)
        )
        assert requested.status_code == 202

        async def rolled_again() -> bool:
            return (await portfolio(api, "top")).json()["tier"] == "Platinum" and len(await changes()) == 4

        async def changes() -> list[tuple]:
            events = await stream_events(clean_nats, "tiering.v1.portfolio.tier_changed", settle=0.3)
            return [(e["data"]["client_id"], e["data"]["old_tier"], e["data"]["new_tier"], e["data"]["members"],
                     e["data"]["changed_by"]) for e in events]  # fmt: skip

        assert await wait_until(rolled_again, within=30)
        assert await changes() == [
            ("mid", None, "Platinum", 1, "u-exec"),
            ("top", None, "Platinum", 3, "u-exec"),
            ("top", "Platinum", "Core", 3, "u-exec"),
            ("top", "Core", "Platinum", 3, f"recalculation:{today:%Y-%m}"),
        ]

        # A loop in the replica (leaf made top's parent): refused, never walked for ever.
        looped = ClientGroupChanged(client_id="top", parent_id="leaf", changed_by="u-exec")
        await publish_envelopes(clean_nats, [wrap(looped, source="clients")])

        async def refused() -> bool:
            return (await portfolio(api, "top")).status_code == 409

        assert await wait_until(refused, within=15)
        assert "below itself" in (await portfolio(api, "mid")).json()["detail"]
        await score(api, "leaf", LOW)  # Score Now still works; the looping groups keep their last tier
