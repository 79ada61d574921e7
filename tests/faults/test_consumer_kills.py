"""The tiering service SIGKILLed three times while it consumes InvoicePosted, some of them published
twice by a retrying producer: its ledger ends up with every distinct invoice exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import text

from clientpulse.shared.contracts import Envelope, Stream, wrap
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.db import Database
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.servers import create_database, drop_database

pytestmark = pytest.mark.integration

INVOICES = 10_000
# Every tenth invoice is published a second time, as a producer retrying after a lost ack would.
RETRIED_EVERY = 10
KILLS = 3


@pytest.fixture
def tiering(postgres_admin_url: str, own_nats: NatsServerProcess, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    """Only the tiering service, as a process on its own PostgreSQL database and its own NATS."""
    database_url = create_database(postgres_admin_url, prefix="faults_tiering")
    stack = Stack(
        var_dir=tmp_path / "stack",
        nats_url=own_nats.url,
        database_urls={"tiering": database_url},
        ports={"tiering": free_port()},
    )
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.restart_service("tiering", timeout=90)
        yield stack, database_url
    finally:
        stack.stop()
        drop_database(database_url)


def invoice(number: int) -> Envelope[InvoicePosted]:
    return wrap(
        InvoicePosted(
            invoice_id=f"inv-{number:05d}",
            client_id=f"co-{number % 50}",
            issued_on=date(2026, 1, 1 + number % 28),
            amount_minor=1_000 + number,
            currency="EUR",
        ),
        source="billing",
    )


async def ledger(database_url: str) -> dict[str, Any]:
    database = Database(database_url)
    try:
        async with database.transaction(notify=False) as session:
            rows = (await session.execute(text("SELECT invoice_id, event_id FROM ledger_invoices"))).all()
            inbox = (
                await session.execute(text("SELECT count(*) FROM inbox WHERE consumer LIKE '%invoice-posted%'"))
            ).scalar_one()
        return {"rows": rows, "inbox": int(inbox)}
    finally:
        await database.dispose()


async def ledger_count(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.transaction(notify=False) as session:
            return int((await session.execute(text("SELECT count(*) FROM ledger_invoices"))).scalar_one())
    finally:
        await database.dispose()


# What the killed process had pulled and not acked comes back after the consumer's ack wait (30 s), so
# a pause that long is expected after each kill; only a ledger that stops growing for longer fails.
STALL_LIMIT = 90.0


def wait_for_ledger(stack: Stack, database_url: str, target: int, *, poll: float) -> int:
    """Wait until the ledger holds ``target`` rows, failing only when it stops growing for STALL_LIMIT."""
    applied, last_growth = 0, time.monotonic()
    while (count := asyncio.run(ledger_count(database_url))) < target:
        if count > applied:
            applied, last_growth = count, time.monotonic()
        stalled = time.monotonic() - last_growth
        assert stalled < STALL_LIMIT, (
            f"the ledger stopped at {applied} of {target} for {stalled:.0f} s; the service's log ends with:\n"
            + log_tail(stack, "tiering")
            + "\nconsumers: "
            + asyncio.run(consumer_states(stack.nats_url))
        )
        time.sleep(poll)
    return count


async def consumer_states(nats_url: str) -> str:
    """What JetStream holds for the invoice consumers: pending, waiting for an ack, redelivered, waiting pulls."""
    connection = await nats.connect(nats_url)
    try:
        infos = await connection.jetstream().consumers_info(Stream.BILLING.value)
        return "; ".join(
            f"{i.name}: pending {i.num_pending}, ack pending {i.num_ack_pending}, "
            f"redelivered {i.num_redelivered}, waiting pulls {i.num_waiting}"
            for i in infos
        )
    finally:
        await connection.close()


def log_tail(stack: Stack, service: str, lines: int = 60) -> str:
    path = stack.log_dir / f"{service}.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def test_sigkilled_consumer_applies_every_invoice_once(
    tiering: tuple[Stack, str], fault_figures: Callable[..., None]
) -> None:
    stack, database_url = tiering
    envelopes = [invoice(n) for n in range(INVOICES)]
    retried = envelopes[::RETRIED_EVERY]
    sent = len(envelopes) + len(retried)

    duplicates = asyncio.run(publish_envelopes(stack.nats_url, envelopes + retried))
    # The retried copies carry the same Nats-Msg-Id: the stream keeps one of each.
    assert sum(duplicates) == len(retried)

    killed_at: list[int] = []
    for kill in range(1, KILLS + 1):
        applied = wait_for_ledger(stack, database_url, INVOICES * kill // (KILLS + 1), poll=0.02)
        stack.stop_service("tiering", kill=True)
        killed_at.append(applied)
        stack.restart_service("tiering", timeout=90)

    wait_for_ledger(stack, database_url, INVOICES, poll=0.2)
    time.sleep(1.0)  # anything redelivered after the last row arrived would show up here
    found = asyncio.run(ledger(database_url))

    expected = {e.data.invoice_id: e.id for e in envelopes}
    invoice_ids = [row[0] for row in found["rows"]]
    applied = len(set(invoice_ids) & set(expected))
    lost = len(set(expected) - set(invoice_ids))
    # A second application would leave a second row or an inbox entry for another event of the same invoice.
    twice = (len(invoice_ids) - len(set(invoice_ids))) + max(0, found["inbox"] - len(expected))
    wrong_event = [row[0] for row in found["rows"] if expected.get(row[0]) != row[1]]
    fault_figures(
        f"tiering SIGKILLed x{KILLS} (at {', '.join(map(str, killed_at))} applied)",
        sent=sent,
        applied=applied,
        lost=lost,
        twice=twice,
    )
    assert lost == 0, f"{lost} invoices missing from the ledger"
    assert twice == 0, f"{twice} invoices applied twice"
    assert not wrong_event, f"ledger rows from an unexpected event: {wrong_event[:5]}"
    assert len(invoice_ids) == INVOICES
    assert found["inbox"] == INVOICES, "the consumer's inbox should hold each event once"
