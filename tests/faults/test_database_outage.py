"""PostgreSQL stopped for a few seconds while the tiering service consumes InvoicePosted: the service
reports not ready meanwhile, recovers without a restart, and applies every invoice exactly once.

The database is a private server of the scenario's own (``StoppablePostgres``), never the session's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from invoice_ledger import STALL_LIMIT, invoice, ledger_count, log_tail, tally, tiering_service, wait_for_ledger
from sqlalchemy import text

from clientpulse.shared.db import Database
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.servers import StoppablePostgres

pytestmark = pytest.mark.integration

INVOICES = 2_000
# The database goes away once this many invoices are applied, mid-consumption.
STOP_AT = 300
OUTAGE_SECONDS = 5.0


@pytest.fixture
def postgres() -> Iterator[StoppablePostgres]:
    server = StoppablePostgres().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def tiering(postgres: StoppablePostgres, own_nats: NatsServerProcess, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    with tiering_service(postgres.admin_url, own_nats.url, tmp_path / "stack") as service:
        yield service


def readiness(stack: Stack) -> int:
    """The status /readyz of the tiering service answers (0 when it does not answer at all)."""
    try:
        return httpx.get(f"{stack.service_url('tiering')}/readyz", timeout=5.0).status_code
    except httpx.HTTPError:
        return 0


def wait_for_readiness(stack: Stack, status: int) -> None:
    """Wait until /readyz answers ``status``; fail after STALL_LIMIT without it."""
    started = time.monotonic()
    while (answered := readiness(stack)) != status:
        assert time.monotonic() - started < STALL_LIMIT, (
            f"/readyz still answers {answered}, not {status}; the service's log ends with:\n"
            + log_tail(stack, "tiering")
        )
        time.sleep(0.2)


def failed_handlings(stack: Stack) -> float:
    """How many times the service's handlers failed, by its own metrics (a failure spends a delivery)."""
    metrics = httpx.get(f"{stack.service_url('tiering')}/metrics", timeout=5.0).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("clientpulse_events_handled_total{") and 'outcome="failed"' in line
    )


async def dead_letter_count(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.transaction(notify=False) as session:
            return int((await session.execute(text("SELECT count(*) FROM dead_letters"))).scalar_one())
    finally:
        await database.dispose()


def test_database_outage_holds_events_and_applies_each_once(
    postgres: StoppablePostgres, tiering: tuple[Stack, str], fault_figures: Callable[..., None]
) -> None:
    stack, database_url = tiering
    process = stack.processes["tiering"]
    envelopes = [invoice(n) for n in range(INVOICES)]
    asyncio.run(publish_envelopes(stack.nats_url, envelopes))

    stopped_at = wait_for_ledger(stack, database_url, STOP_AT, poll=0.01)
    postgres.stop()
    down_since = time.monotonic()
    wait_for_readiness(stack, 503)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    assert readiness(stack) == 503, "the service should not be ready while its database is down"
    postgres.start()

    wait_for_readiness(stack, 200)
    wait_for_ledger(stack, database_url, INVOICES, poll=0.2)
    time.sleep(1.0)  # anything redelivered after the last row arrived would show up here
    found = tally(database_url, envelopes)
    dead_letters = asyncio.run(dead_letter_count(database_url))
    failed = failed_handlings(stack)

    fault_figures(
        f"PostgreSQL down {OUTAGE_SECONDS:.0f} s (at {stopped_at} applied)",
        sent=INVOICES,
        applied=found.applied,
        lost=found.lost,
        twice=found.twice,
    )
    assert process.poll() is None and stack.processes["tiering"] is process, "the service was restarted"
    assert found.lost == 0, f"{found.lost} invoices missing from the ledger"
    assert found.twice == 0, f"{found.twice} invoices applied twice"
    assert not found.wrong_event, f"ledger rows from an unexpected event: {found.wrong_event[:5]}"
    assert found.rows == INVOICES == asyncio.run(ledger_count(database_url))
    # Held, not NAKed: the outage spent none of the invoices' deliveries.
    assert failed == 0, f"{failed:.0f} handlings counted as failed deliveries while the database was down"
    assert dead_letters == 0, f"{dead_letters} invoices dead-lettered while the database was down"
