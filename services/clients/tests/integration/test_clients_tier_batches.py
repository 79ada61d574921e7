"""Scores a recalculation moved (ScoresRecalculated, many clients per event) reach the client list and
detail, newer fact wins, a redelivery changes nothing; a group's portfolio tier change joins the history
of its parent. Real PostgreSQL and NATS, the events published as tiering would."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from clients_testkit import EXECUTIVE, as_user, running_clients_service

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import (
    PortfolioTierChanged,
    RecalculatedScore,
    ScoresRecalculated,
    Tier,
    TierChangeCause,
    TierChanged,
)
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


async def create_client(api, name: str) -> str:
    company = (await api.post("/api/v1/companies", json={"name": name}, headers=as_user(EXECUTIVE))).json()
    response = await api.post(
        f"/api/v1/companies/{company['id']}/convert",
        json={"status": "Active", "dm_id": "u-42", "squad_id": "s-1"},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def moved(client_id: str, score: str, tier: Tier = Tier.CORE) -> RecalculatedScore:
    return RecalculatedScore(client_id=client_id, score=Decimal(score), computed_tier=tier, effective_tier=tier)


async def scores_listed(api) -> dict[str, str | None]:
    body = (await api.get("/api/v1/clients", params={"limit": 200}, headers=as_user(EXECUTIVE))).json()
    return {item["id"]: item["tier_score"] for item in body["items"]}


async def test_recalculated_scores_reach_the_list_and_detail_newer_fact_wins(
    postgres_url: str, clean_nats: str
) -> None:
    now = datetime.now(UTC)
    async with running_clients_service(postgres_url, clean_nats) as api:
        first = await create_client(api, "Alpha")
        second = await create_client(api, "Beta")
        newer = await create_client(api, "Gamma")
        # Gamma's score came from a TierChanged newer than the run: the run's older figure must not win.
        tier_changed = TierChanged(
            client_id=newer, old_tier=Tier.CORE, new_tier=Tier.PLATINUM, old_score=Decimal("3.50"),
            new_score=Decimal("4.10"), cause=TierChangeCause.SCORE_NOW,
        )  # fmt: skip
        await publish_envelopes(clean_nats, [wrap(tier_changed, source="tiering", time=now)])

        async def gamma_scored() -> bool:
            return (await scores_listed(api)).get(newer) == "4.10"

        assert await wait_until(gamma_scored, within=15)
        part = wrap(
            ScoresRecalculated(
                period="2026-11", run_id="run-1", part=0,
                scores=[moved(first, "3.25"), moved(second, "2.60", Tier.STANDARD), moved(newer, "3.00")],
            ),
            source="tiering", time=now - timedelta(minutes=1),
        )  # fmt: skip
        await publish_envelopes(clean_nats, [part, part])

        async def applied() -> bool:
            listed = await scores_listed(api)
            return listed.get(first) == "3.25" and listed.get(second) == "2.60"

        assert await wait_until(applied, within=15)
        assert (await scores_listed(api))[newer] == "4.10"  # the newer fact kept
        detail = (await api.get(f"/api/v1/clients/{first}", headers=as_user(EXECUTIVE))).json()
        assert detail["tier_score"] == "3.25"
        # The same part redelivered under its id, and an older part: neither moves anything.
        older = wrap(
            ScoresRecalculated(period="2026-10", run_id="run-0", part=0, scores=[moved(first, "1.00")]),
            source="tiering", time=now - timedelta(days=30),
        )  # fmt: skip
        await publish_envelopes(clean_nats, [part, older])
        later = wrap(
            ScoresRecalculated(period="2026-12", run_id="run-2", part=0, scores=[moved(second, "2.95")]),
            source="tiering", time=now + timedelta(seconds=1),
        )  # fmt: skip
        await publish_envelopes(clean_nats, [later])

        async def second_moved_again() -> bool:
            return (await scores_listed(api)).get(second) == "2.95"

        assert await wait_until(second_moved_again, within=15)
        assert (await scores_listed(api))[first] == "3.25"


async def test_a_portfolio_tier_change_joins_the_parents_history(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        parent = await create_client(api, "Holding Group")
        changed = wrap(
            PortfolioTierChanged(
                client_id=parent, old_tier=Tier.STANDARD, new_tier=Tier.CORE, old_score=Decimal("2.80"),
                new_score=Decimal("3.15"), members=3, changed_by="recalculation:2026-11",
            ),
            source="tiering",
        )  # fmt: skip
        await publish_envelopes(clean_nats, [changed, changed])

        async def entries() -> list[dict]:
            body = (await api.get(f"/api/v1/clients/{parent}/history", headers=as_user(EXECUTIVE))).json()
            return [item for item in body["items"] if item["type"] == "PortfolioTierChanged"]

        async def noted() -> bool:
            return bool(await entries())

        assert await wait_until(noted, within=15)
        found = await entries()
        assert len(found) == 1
        assert found[0]["line"] == "Portfolio tier of the group changed from Standard to Core (3 members)"
