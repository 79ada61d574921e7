"""The recalculation metrics against real NATS and PostgreSQL: what a run did reaches /metrics once it
has committed, and the time of the last completed run is read back from the database when the
service starts again."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import (
    EXECUTIVE,
    add_client,
    as_user,
    clients,
    forget_last_completed,
    invoice,
    running_tiering_service,
    runs,
    sample,
)

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import RecalculationRequested
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until
from clientpulse.tiering import metrics

STRONG = {"profitability": 4, "strategic_value": 4, "relationship_quality": 4}  # 2.60 + 0.35 × band


def this_period() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year:04d}-{today.month:02d}"


@pytest.mark.integration
async def test_a_completed_run_is_counted_and_its_time_survives_a_restart(database_url: str, clean_nats: str) -> None:
    bus = clean_nats
    period = this_period()
    forget_last_completed()
    before = {outcome: runs(outcome) for outcome in metrics.RUN_OUTCOMES}
    before_clients = {result: clients(result) for result in metrics.CLIENT_RESULTS}
    before_duration = sample("clientpulse_recalculation_duration_seconds_count")
    async with running_tiering_service(database_url, bus) as api:
        await score_a_client_with_new_revenue(api, bus)
        requested = await api.post(
            "/api/v1/tiering/recalculations", json={"period": period}, headers=as_user(EXECUTIVE)
        )
        assert requested.status_code == 202, requested.text

        async def counted() -> bool:
            return runs("completed") > before["completed"]

        assert await wait_until(counted, within=20)
        (run,) = (await api.get("/api/v1/tiering/recalculations", headers=as_user(EXECUTIVE))).json()["items"]
        assert run["status"] == "completed"
        completed_at = datetime.fromisoformat(run["completed_at"]).timestamp()
        assert runs("completed") == before["completed"] + 1
        assert sample("clientpulse_recalculation_duration_seconds_count") == before_duration + 1
        assert {result: clients(result) - before_clients[result] for result in metrics.CLIENT_RESULTS} == {
            "recalculated": 1,
            "tier_changed": 1,
            "skipped_never_scored": 1,
            "failed": 0,
        }
        assert sample("clientpulse_recalculation_last_completed_timestamp_seconds") == pytest.approx(completed_at)
        await ask_again_and_scrape(api, bus, period, before)

    # A new process knows nothing in memory: the gauge comes back from the runs table at start.
    forget_last_completed()
    async with running_tiering_service(database_url, bus):

        async def loaded() -> bool:
            return sample("clientpulse_recalculation_last_completed_timestamp_seconds") > 0

        assert await wait_until(loaded, within=15)
        assert sample("clientpulse_recalculation_last_completed_timestamp_seconds") == pytest.approx(completed_at)


async def score_a_client_with_new_revenue(api: httpx.AsyncClient, bus: str) -> None:
    """c-rise scored without revenue, then invoiced into band 5; c-never is Active but never scored."""
    for client_id in ("c-rise", "c-never"):
        await add_client(api, bus, client_id)
    scored = await api.post(
        "/api/v1/clients/c-rise/tiering/scores",
        json={"track": "managed_delivery", "ratings": STRONG},
        headers=as_user(EXECUTIVE),
    )
    assert scored.status_code == 201, scored.text
    await publish_envelopes(bus, [invoice("m-1", "c-rise", 40_000_000)])  # band 5: Standard → Platinum

    async def ledger_has_it() -> bool:
        body = (await api.get("/api/v1/clients/c-rise/tiering", headers=as_user(EXECUTIVE))).json()
        return bool(body["trailing_revenue"])

    assert await wait_until(ledger_has_it, within=15)


async def ask_again_and_scrape(api: httpx.AsyncClient, bus: str, period: str, before: dict[str, float]) -> None:
    """The same period asked again as a new event (past JetStream's duplicate window): nothing runs, and
    /metrics shows every recalculation family."""
    await publish_envelopes(bus, [wrap(RecalculationRequested(period=period, requested_by="ops"), source="ops")])

    async def already_run() -> bool:
        return runs("already_run") > before["already_run"]

    assert await wait_until(already_run, within=20)
    assert runs("completed") == before["completed"] + 1
    assert runs("failed") == before["failed"]

    scrape = (await api.get("/metrics")).text
    families = {family.name for family in text_string_to_metric_families(scrape)}
    assert {
        "clientpulse_recalculation_runs",
        "clientpulse_recalculation_duration_seconds",
        "clientpulse_recalculation_clients",
        "clientpulse_recalculation_last_completed_timestamp_seconds",
    } <= families
