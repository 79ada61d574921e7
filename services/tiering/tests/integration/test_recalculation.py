"""The monthly recalculation against real NATS, on PostgreSQL (one set-based statement) and on SQLite
(the embedded path): tiers move with fresh revenue, TierChanged reaches a consumer for effective
changes only, and asking again for the same period changes nothing and emits nothing."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from sqlalchemy import update
from tiering_testkit import EXECUTIVE, add_client, as_user, invoice, running_tiering_service, stream_events

from clientpulse.shared.contracts import EnvelopeHeader, wrap
from clientpulse.shared.contracts.events import (
    ClientStatus,
    RecalculationRequested,
    ScoreRecorded,
    ScoresRecalculated,
    TierChanged,
)
from clientpulse.shared.db import Database
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until
from clientpulse.tiering.cli import main as tiering_cli
from clientpulse.tiering.db.models import ClientScore
from clientpulse.tiering.domain.recalculation import recalculation_event_id

pytestmark = pytest.mark.integration

STRONG = {"profitability": 4, "strategic_value": 4, "relationship_quality": 4}  # 2.60 + 0.35 × band
WEAK = {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}  # 0.65 + 0.35 × band


def this_period() -> str:
    """This month: its revenue window (the 12 months ending with it) includes today's invoices."""
    today = datetime.now(UTC).date()
    return f"{today.year:04d}-{today.month:02d}"


async def score(api, client_id: str, ratings: dict[str, int]) -> dict:
    response = await api.post(
        f"/api/v1/clients/{client_id}/tiering/scores",
        json={"track": "managed_delivery", "ratings": ratings},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return response.json()["current"]


async def runs(api) -> list[dict]:
    response = await api.get("/api/v1/tiering/recalculations", headers=as_user(EXECUTIVE))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_recalculation_moves_tiers_once_per_period(database_url: str, clean_nats: str, monkeypatch) -> None:
    bus = clean_nats
    period = this_period()
    async with running_tiering_service(database_url, bus) as api:
        await score_the_clients(api, bus, database_url)
        await post_invoices_and_let_an_override_lapse(api, bus)
        rise = await recalculate_and_check_the_run(api, period)
        await ask_again(api, bus, period, monkeypatch)
        await check_the_events_and_history(api, bus, period, rise)


async def score_the_clients(api, bus: str, database_url: str) -> None:
    """Six Active clients (one never scored, one with stale ratings, two overridden) and a Dormant one."""
    for client_id in ("c-rise", "c-flat", "c-held", "c-expiring", "c-never", "c-yen"):
        await add_client(api, bus, client_id)
    await add_client(api, bus, "c-dormant", status=ClientStatus.DORMANT)
    assert (await score(api, "c-rise", STRONG))["effective_tier"] == "Standard"  # 2.95, no revenue yet
    await score(api, "c-flat", STRONG)
    await backdate_ratings(database_url, "c-flat", days=91)
    await score(api, "c-held", WEAK)
    await score(api, "c-expiring", WEAK)
    await score(api, "c-yen", STRONG)
    await score(api, "c-dormant", WEAK)
    held = await api.post(
        "/api/v1/clients/c-held/tiering/override",
        json={"tier": "Review", "reason": "exit agreed"},
        headers=as_user(EXECUTIVE),
    )
    assert held.status_code == 200
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    expiring = await api.post(
        "/api/v1/clients/c-expiring/tiering/override",
        json={"tier": "Core", "reason": "trial period", "expires_at": soon},
        headers=as_user(EXECUTIVE),
    )
    assert expiring.status_code == 200, expiring.text


async def post_invoices_and_let_an_override_lapse(api, bus: str) -> None:
    """Revenue for the ledger, then c-expiring's override runs out (shown as ended before any write)."""
    await publish_envelopes(
        bus,
        [
            invoice("r-1", "c-rise", 40_000_000),  # EUR 400,000 → band 5: 2.60 + 1.75 = 4.35 Platinum
            invoice("r-2", "c-held", 40_000_000),  # computed 2.40 Standard, override Review stays effective
            invoice("r-3", "c-yen", 5_000_000, currency="JPY"),  # no JPY rate configured: fails, unchanged
            invoice("r-4", "c-dormant", 40_000_000),  # not Active: left alone
        ],
    )

    async def ledger_has_all() -> bool:
        for client_id in ("c-rise", "c-held", "c-yen", "c-dormant"):
            body = (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()
            if not body["trailing_revenue"]:
                return False
        return True

    assert await wait_until(ledger_has_all, within=15)
    await asyncio.sleep(1.2)  # let c-expiring's override run out
    lapsed = (await api.get("/api/v1/clients/c-expiring/tiering", headers=as_user(EXECUTIVE))).json()["current"]
    assert (lapsed["effective_tier"], lapsed["override"]) == ("Review", None)  # shown as ended at once


async def recalculate_and_check_the_run(api, period: str) -> dict:
    """Ask for the period's recalculation; the run's counts and the rescored clients (c-rise's tiering returned)."""
    requested = await api.post("/api/v1/tiering/recalculations", json={"period": period}, headers=as_user(EXECUTIVE))
    assert requested.status_code == 202, requested.text
    assert requested.json()["event_id"] == recalculation_event_id(period)
    assert await wait_until(lambda: _nonempty(runs(api)), within=20)
    (run,) = await runs(api)
    assert (run["period"], run["status"], run["requested_by"]) == (period, "completed", "u-exec")
    counts = (run["recalculated"], run["changed"], run["skipped_never_scored"], run["failed"])
    assert counts == (4, 2, 1, 1)  # rise, flat, held, expiring | rise, expiring | never | yen

    rise = (await api.get("/api/v1/clients/c-rise/tiering", headers=as_user(EXECUTIVE))).json()["current"]
    assert (rise["score"], rise["effective_tier"], rise["money_rating"], rise["revenue_minor"]) == (
        "4.35", "Platinum", 5, 40_000_000,
    )  # fmt: skip
    held_now = (await api.get("/api/v1/clients/c-held/tiering", headers=as_user(EXECUTIVE))).json()["current"]
    assert (held_now["computed_tier"], held_now["effective_tier"], held_now["score"]) == (
        "Standard",
        "Review",
        "2.40",
    )
    dormant = (await api.get("/api/v1/clients/c-dormant/tiering", headers=as_user(EXECUTIVE))).json()["current"]
    assert dormant["money_rating"] == 1
    return rise


async def ask_again(api, bus: str, period: str, monkeypatch) -> None:
    """Asked again: by the API (409), by the CronJob (a duplicate), and as a new event past every dedup."""
    again = await api.post("/api/v1/tiering/recalculations", json={"period": period}, headers=as_user(EXECUTIVE))
    assert again.status_code == 409
    monkeypatch.setenv("CLIENTPULSE_TIERING_NATS_URL", bus)
    assert await asyncio.to_thread(tiering_cli, ["recalculate", "--period", period]) == 0
    await publish_envelopes(bus, [wrap(RecalculationRequested(period=period, requested_by="someone"), source="ops")])
    await asyncio.sleep(1.5)


async def check_the_events_and_history(api, bus: str, period: str, rise: dict) -> None:
    """Only effective changes emitted TierChanged, once each; one completion; stale ratings flagged once."""
    # Decoded as every consumer decodes them: envelope first, then the versioned payload.
    tier_events = await stream_events(bus, "tiering.v1.tier.changed")
    decoded = [TierChanged.decode(EnvelopeHeader.model_validate(e).data) for e in tier_events]
    assert len({e["id"] for e in tier_events}) == len(tier_events)
    changes = [d.model_dump(mode="json") for d in decoded if d.cause.value in ("recalculation", "expiry")]
    assert sorted((c["client_id"], c["old_tier"], c["new_tier"], c["cause"]) for c in changes) == [
        ("c-expiring", "Core", "Review", "expiry"),
        ("c-rise", "Standard", "Platinum", "recalculation"),
    ]
    rise_change = next(c for c in changes if c["client_id"] == "c-rise")
    assert (rise_change["old_score"], rise_change["new_score"]) == ("2.95", "4.35")
    assert rise_change["receipt_id"] == rise["receipt_id"]
    # Every moved score, tier change or not, in one ScoresRecalculated part (the run's only one), once.
    parts = [
        ScoresRecalculated.decode(EnvelopeHeader.model_validate(e).data)
        for e in await stream_events(bus, "tiering.v1.scores.recalculated")
    ]
    assert [(p.period, p.part) for p in parts] == [(period, 0)]
    assert [(m.client_id, str(m.score), m.computed_tier.value, m.effective_tier.value) for m in parts[0].scores] == [
        ("c-held", "2.40", "Standard", "Review"),
        ("c-rise", "4.35", "Platinum", "Platinum"),
    ]
    completed = await stream_events(bus, "tiering.v1.recalculation.completed")
    assert [(e["data"]["period"], e["data"]["changed"], e["data"]["stale_flagged"]) for e in completed] == [
        (period, 2, 1)
    ]
    stale = [
        ScoreRecorded.decode(EnvelopeHeader.model_validate(e).data)
        for e in await stream_events(bus, "tiering.v1.score.recorded")
        if e["data"]["stale"]
    ]
    assert [(s.client_id, s.effective_tier.value) for s in stale] == [("c-flat", "Standard")]
    flat = (await api.get("/api/v1/clients/c-flat/tiering", headers=as_user(EXECUTIVE))).json()["current"]
    assert flat["stale"] is True
    assert len(await runs(api)) == 1
    history = (await api.get("/api/v1/clients/c-rise/tiering/history", headers=as_user(EXECUTIVE))).json()
    assert [r["kind"] for r in history["items"]] == ["recalculation", "score_now"]
    assert history["items"][0]["period"] == period
    assert history["trend"] == "up"


async def backdate_ratings(database_url: str, client_id: str, *, days: int) -> None:
    """Make a client's human ratings ``days`` old, as if rated then."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            await session.execute(
                update(ClientScore)
                .where(ClientScore.client_id == client_id)
                .values(ratings_recorded_at=datetime.now(UTC) - timedelta(days=days))
            )
    finally:
        await database.dispose()


async def _nonempty(value) -> bool:
    return bool(await value)
