"""Linked goals measured by the results service over their own periods, and connections announced, against
PostgreSQL, NATS and the sandbox: a new goal is measured at once, a backfill and a sync measure it again
with the figure the metrics API shows (ratio goals such as ROAS included), and adding or removing a
connection publishes its event with the change."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import nats
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import (
    EXECUTIVE,
    SandboxControl,
    as_user,
    metric_lines,
    run_sync,
    running_service,
    seed_client,
    settings_for,
)

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import GoalChanged
from clientpulse.shared.db import Database
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(results_database: str, nats_url: str, sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(results_database, nats_url, sandbox_url, consumer_backoff=[0.2, 0.5, 1.0]) as client:
        yield client


async def events(nats_url: str, subject: str, client_id: str) -> list[dict]:
    """Every event on ``subject`` about one client so far."""
    connection = await nats.connect(nats_url)
    try:
        sub = await connection.jetstream().pull_subscribe(subject, durable=None)
        found: list[dict] = []
        while True:
            try:
                messages = await sub.fetch(100, timeout=1.0)
            except TimeoutError:
                return found
            found += [body for m in messages if (body := json.loads(m.data))["subject"] == client_id]
    finally:
        await connection.close()


def goal(goal_id: str, metric: str, kind: str, start: date, end: date) -> object:
    return wrap(
        GoalChanged(client_id="c-measured", goal_id=goal_id, name=goal_id, kind=kind, direction="higher",
                    target=Decimal("3"), period_start=start, period_end=end, metric=metric, changed_by="u-exec"),
        source="clients", time=datetime.now(UTC),
    )  # fmt: skip


async def test_goals_are_measured_over_their_own_periods_after_new_results(
    api: httpx.AsyncClient, results_database: str, nats_url: str, sandbox_url: str
) -> None:
    control = SandboxControl(sandbox_url)
    control.clear()
    await seed_client(results_database, "c-measured")
    control.configure("meta_ads", "9700", campaigns=3)
    grant = control.grant("meta_ads")
    created = await api.post(
        "/api/v1/clients/c-measured/connections",
        json={"platform": "meta_ads", "account_id": "9700", "method": "token", **grant},
        headers=as_user(EXECUTIVE),
    )
    assert created.status_code == 201, created.text
    today = datetime.now(UTC).date()
    # The goal's period starts in the middle of what the backfill will read: its value is not the backfill's.
    start = date.fromordinal(today.toordinal() - 12)
    await publish_envelopes(
        nats_url,
        [goal("g-roas", "roas", "level", start, today), goal("g-spend", "spend_minor", "cumulative", start, today)],
    )

    async def measured() -> list[dict]:
        return [
            g for e in await events(nats_url, "results.v1.goals.measured", "c-measured") for g in e["data"]["goals"]
        ]

    # Known at once: nothing is stored yet, so the sum is 0 and the ratio is left out rather than called 0.
    assert await wait_until(lambda: _truthy(measured), within=15)
    assert {(g["goal_id"], Decimal(g["current"])) for g in await measured()} == {("g-spend", Decimal(0))}

    started = await api.post(
        "/api/v1/clients/c-measured/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
    )
    assert started.status_code == 202

    async def roas_measured() -> dict | None:
        found = [g for g in await measured() if g["goal_id"] == "g-roas"]
        return found[-1] if found else None

    assert await wait_until(lambda: _truthy(roas_measured), within=60)
    shown = (
        await api.get(
            f"/api/v1/clients/c-measured/results/metrics?start={start}&end={today}", headers=as_user(EXECUTIVE)
        )
    ).json()
    figures = {line["metric"]: Decimal(line["current"]) for line in metric_lines(shown) if line["current"]}
    latest = {g["goal_id"]: g for g in await measured()}
    assert Decimal(latest["g-roas"]["current"]) == figures["roas"] > 0
    assert Decimal(latest["g-spend"]["current"]) == figures["spend_minor"] > 0
    assert (latest["g-roas"]["period_start"], latest["g-roas"]["period_end"]) == (start.isoformat(), today.isoformat())

    before = len(await events(nats_url, "results.v1.goals.measured", "c-measured"))
    database = Database(results_database)
    try:
        report = await run_sync(settings_for(sandbox_url, database_url=results_database), database)
    finally:
        await database.dispose()
    assert report.synced >= 1
    assert await wait_until(
        lambda: _more(events(nats_url, "results.v1.goals.measured", "c-measured"), before), within=15
    )

    removed = await api.delete(
        f"/api/v1/clients/c-measured/connections/{created.json()['id']}", headers=as_user(EXECUTIVE)
    )
    assert removed.status_code == 204
    added = await events(nats_url, "results.v1.connection.added", "c-measured")
    gone = await events(nats_url, "results.v1.connection.removed", "c-measured")
    assert [(e["data"]["account_id"], e["data"]["added_by"]) for e in added] == [("9700", "u-exec")]
    assert [(e["data"]["platform_name"], e["data"]["removed_by"]) for e in gone] == [("Meta Ads", "u-exec")]


async def _truthy(check) -> bool:
    return bool(await check())


async def _more(source, than: int) -> bool:
    return len(await source) > than
