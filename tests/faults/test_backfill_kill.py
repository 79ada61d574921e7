"""A results-ingest worker SIGKILLed in the middle of a 90-day backfill: restarted, it resumes from the
checkpoints, and the backfill ends completed with exactly the rows (same set, same values) a clean
run of the same backfill wrote into a database of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clientpulse.platform_sandbox.process import start_sandbox_process
from clientpulse.shared.client_directory import apply_client_event
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.db import Database
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.testing.servers import create_database, drop_database

pytestmark = pytest.mark.integration

SECRET = "faults-identity-secret-of-enough-length-01"


def executive() -> dict[str, str]:
    """A freshly signed Executive identity (a forwarded identity lives only briefly)."""
    return {IDENTITY_HEADER: sign_identity(Identity("u-exec", Role.EXECUTIVE), SECRET)}


CLIENT = "c-backfill"
ACCOUNTS = (("meta_ads", "9910"), ("google_ads", "9911"), ("tiktok_ads", "9912"))
CAMPAIGNS = 5
# Each platform request waits this long in the sandbox, so the worker dies with slices in flight.
LATENCY = 0.3
# The worker is killed once this many slices (of 19: Meta's 13, Google's 3, TikTok's 3) are done.
KILL_AFTER_SLICES = 4
# A backfill whose slice count stops moving this long has stalled (a killed worker's slices come
# back after the consumer's ack wait, 3 s here).
STALL_LIMIT = 60.0
SERVICE = "results-ingest"

# Everything a stored row says, without the ids and clocks of the run that wrote it.
CAMPAIGN_ROWS = """
    SELECT c.platform, c.campaign_id, c.day, c.campaign_name, c.status, c.status_raw, c.creative_title,
           c.currency, c.time_zone, c.spend_minor, c.impressions, c.clicks, c.conversions_e4,
           c.conversion_value_minor, c.reach_daily, c.is_final
    FROM campaign_daily c
"""
METRIC_ROWS = """
    SELECT m.platform, m.day, m.metric_key, m.category, m.value, m.unit, m.currency, m.time_zone, m.is_final
    FROM metric_daily m
"""


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    port = free_port()
    process = start_sandbox_process(port)
    url = f"http://127.0.0.1:{port}"
    for platform, account in ACCOUNTS:
        httpx.post(
            f"{url}/_sandbox/accounts",
            json={"platform": platform, "account_id": account, "campaigns": CAMPAIGNS, "latency": LATENCY},
        ).raise_for_status()
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def results_ingest(postgres_admin_url: str, sandbox_url: str, tmp_path: Path) -> Iterator[Callable[[str], Stack]]:
    """Makes a results-ingest process on a database and NATS server of its own, pointed at the sandbox."""
    made: list[tuple[Stack, NatsServerProcess, str]] = []

    def make(name: str) -> Stack:
        nats_server = NatsServerProcess(tmp_path / name / "nats").start()
        database_url = create_database(postgres_admin_url, prefix="faults_backfill")
        stack = Stack(
            var_dir=tmp_path / name,
            nats_url=nats_server.url,
            database_urls={SERVICE: database_url},
            ports={SERVICE: free_port(), "sandbox": int(sandbox_url.rsplit(":", 1)[1])},
            env={
                "CLIENTPULSE_IDENTITY_SECRET": SECRET,
                # A killed worker's unacknowledged slices come back after this many seconds.
                "CLIENTPULSE_RESULTS_CONSUMER_ACK_WAIT": "3",
                "CLIENTPULSE_RESULTS_OUTBOX_POLL_INTERVAL": "0.1",
            },
        )
        stack.log_dir.mkdir(parents=True, exist_ok=True)
        made.append((stack, nats_server, database_url))
        stack.restart_service(SERVICE, timeout=90)
        asyncio.run(seed_client(database_url))
        for platform, account in ACCOUNTS:
            grant = httpx.post(f"{sandbox_url}/_sandbox/grants/{platform}").json()
            created = httpx.post(
                f"{stack.service_url(SERVICE)}/api/v1/clients/{CLIENT}/connections",
                json={"platform": platform, "account_id": account, "method": "token", **grant},
                headers=executive(),
                timeout=30,
            )
            assert created.status_code == 201, created.text
        return stack

    try:
        yield make
    finally:
        for stack, nats_server, database_url in made:
            stack.stop()
            nats_server.stop()
            drop_database(database_url)


async def seed_client(database_url: str) -> None:
    """The client in the service's replica, as its ClientCreated event would put it there."""
    database = Database(database_url)
    try:
        event = ClientCreated(
            client_id=CLIENT,
            name="Backfill Ltd",
            status=ClientStatus.ACTIVE,
            dm_id="u-42",
            squad_id="s-1",
            created_by="u-exec",
        )
        async with database.transaction() as session:
            await apply_client_event(wrap(event, source="clients", time=datetime.now(UTC)), session)
    finally:
        await database.dispose()


def start_backfill(stack: Stack) -> str:
    started = httpx.post(
        f"{stack.service_url(SERVICE)}/api/v1/clients/{CLIENT}/results/backfills",
        json={"days": 90},
        headers=executive(),
        timeout=30,
    )
    assert started.status_code == 202, started.text
    return f"{stack.service_url(SERVICE)}{started.headers['Location']}"


def backfill(location: str) -> dict[str, Any]:
    return dict(httpx.get(location, headers=executive(), timeout=30).json())


def wait_for_backfill(stack: Stack, location: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the backfill until ``done``; fail when its slice count stops moving for STALL_LIMIT."""
    progress, last_move = -1, time.monotonic()
    while not done(state := backfill(location)):
        assert state["status"] in ("queued", "running"), state
        if state["slices_done"] != progress:
            progress, last_move = state["slices_done"], time.monotonic()
        assert time.monotonic() - last_move < STALL_LIMIT, f"the backfill stalled at {state}; see {stack.log_dir}"
        time.sleep(0.05)
    return state


async def stored_rows(database_url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    database = Database(database_url)
    try:
        async with database.transaction(notify=False) as session:
            campaigns = [tuple(row) for row in (await session.execute(text(CAMPAIGN_ROWS))).all()]
            metrics = [tuple(row) for row in (await session.execute(text(METRIC_ROWS))).all()]
        return sorted(campaigns, key=repr), sorted(metrics, key=repr)
    finally:
        await database.dispose()


def test_killed_backfill_worker_resumes_to_the_rows_of_a_clean_run(
    results_ingest: Callable[[str], Stack], fault_figures: Callable[..., None]
) -> None:
    clean = results_ingest("clean")
    clean_state = wait_for_backfill(clean, start_backfill(clean), lambda s: s["status"] == "completed")
    clean_campaigns, clean_metrics = asyncio.run(stored_rows(clean.database_urls[SERVICE]))
    clean.stop()

    killed = results_ingest("killed")
    location = start_backfill(killed)
    at_kill = wait_for_backfill(killed, location, lambda s: s["slices_done"] >= KILL_AFTER_SLICES)
    killed.stop_service(SERVICE, kill=True)
    assert at_kill["status"] == "running" and at_kill["slices_done"] < at_kill["slices_total"], (
        f"the backfill was not mid-run when its worker was killed: {at_kill}"
    )
    killed.restart_service(SERVICE, timeout=90)
    resumed = wait_for_backfill(killed, location, lambda s: s["status"] == "completed")
    campaigns, metrics = asyncio.run(stored_rows(killed.database_urls[SERVICE]))

    expected = {*clean_campaigns, *clean_metrics}
    got = {*campaigns, *metrics}
    fault_figures(
        f"results-ingest SIGKILLed mid-backfill (at {at_kill['slices_done']} of {at_kill['slices_total']} slices)",
        sent=len(expected),
        applied=len(got & expected),
        lost=len(expected - got),
        twice=(len(campaigns) - len(set(campaigns))) + (len(metrics) - len(set(metrics))),
    )
    assert clean_campaigns and clean_metrics, "the clean run stored nothing"
    assert campaigns == clean_campaigns, "campaign rows differ from the clean run's"
    assert metrics == clean_metrics, "metric rows differ from the clean run's"
    assert resumed["slices_done"] == resumed["slices_total"] == clean_state["slices_total"]
    assert resumed["rows_written"] == clean_state["rows_written"]
