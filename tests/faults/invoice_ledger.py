"""What the invoice scenarios share: the tiering service as a process, InvoicePosted envelopes, and its
ledger counted straight from its database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import nats
from sqlalchemy import text

from clientpulse.shared.contracts import Envelope, Stream, wrap
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.db import Database
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.servers import create_database, drop_database

# What a killed process had pulled and not acked comes back after the consumer's ack wait (30 s), so a
# pause that long is expected after a kill; only a ledger that stops growing for longer fails.
STALL_LIMIT = 90.0


@contextlib.contextmanager
def tiering_service(admin_url: str, nats_url: str, var_dir: Path) -> Iterator[tuple[Stack, str]]:
    """Only the tiering service, as a process on a database of its own beside ``admin_url``."""
    database_url = create_database(admin_url, prefix="faults_tiering")
    stack = Stack(
        var_dir=var_dir,
        nats_url=nats_url,
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
    """The InvoicePosted envelope of invoice ``number`` (a new event id on every call)."""
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
    """The ledger's (invoice, event) rows and the number of invoice events in the consumer's inbox."""
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


def wait_for_ledger(
    stack: Stack, database_url: str, target: int, *, poll: float, stall_limit: float = STALL_LIMIT
) -> int:
    """Wait until the ledger holds ``target`` rows, failing only when it stops growing for ``stall_limit``."""
    applied, last_growth = 0, time.monotonic()
    while (count := asyncio.run(ledger_count(database_url))) < target:
        if count > applied:
            applied, last_growth = count, time.monotonic()
        stalled = time.monotonic() - last_growth
        assert stalled < stall_limit, (
            f"the ledger stopped at {applied} of {target} for {stalled:.0f} s; the service's log ends with:\n"
            + log_tail(stack, "tiering")
            + "\nconsumers: "
            + asyncio.run(consumer_states(stack.nats_url))
        )
        time.sleep(poll)
    return count


async def consumer_states(nats_url: str | None) -> str:
    """What JetStream holds for the invoice consumers: pending, waiting for an ack, redelivered, waiting pulls."""
    connection = await nats.connect(nats_url or "")
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


@dataclass(frozen=True, slots=True)
class Tally:
    """The ledger compared with the invoices sent."""

    applied: int
    lost: int
    twice: int
    rows: int
    inbox: int
    wrong_event: list[str]


def tally(database_url: str, envelopes: list[Envelope[InvoicePosted]]) -> Tally:
    """Count what the ledger holds of ``envelopes`` (each invoice's first envelope is the one the stream kept)."""
    found = asyncio.run(ledger(database_url))
    expected = {e.data.invoice_id: e.id for e in envelopes}
    invoice_ids = [row[0] for row in found["rows"]]
    # A second application would leave a second row or an inbox entry for another event of the same invoice.
    twice = (len(invoice_ids) - len(set(invoice_ids))) + max(0, found["inbox"] - len(expected))
    return Tally(
        applied=len(set(invoice_ids) & set(expected)),
        lost=len(set(expected) - set(invoice_ids)),
        twice=twice,
        rows=len(invoice_ids),
        inbox=found["inbox"],
        wrong_event=[row[0] for row in found["rows"] if expected.get(row[0]) != row[1]],
    )
