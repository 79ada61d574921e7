"""Ingest into the tiering ledger: the tiering service's InvoicePosted consumer (batched: one transaction
per fetched batch) against a bare FastStream pull subscriber (batch 100, no database) consuming the same
number of messages from a scratch stream on the same nats-server, in the same run.

Targets: ≥ 0.5× the bare consumer on PostgreSQL (stretch 0.8×), ≥ 0.3× on SQLite.

Each round publishes ``--events`` InvoicePosted (distinct invoices) before the clock starts, then times
- the baseline: a FastStream ``PullSub(batch_size=100, batch=True)`` subscriber that acks each batch;
- the ledger: the tiering service's event bus (its handlers, in this process) on a migrated database,
  until ``clientpulse_events_handled_total{consumer="tiering-invoice-posted",outcome="applied"}`` has
  grown by ``--events``.
Figures are medians over rounds.

usage: python bench/ingest.py [--database postgresql|sqlite|both] [--events 10000] [--rounds 3]
                              [--url postgresql://postgres@127.0.0.1:5432/test] [--profile out.html]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import nats
from faststream.nats import NatsBroker, PullSub

from clientpulse.shared.contracts import Stream, wrap
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.db import Database, migrate
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging import EventBus
from clientpulse.shared.messaging.core import stream_config
from clientpulse.shared.money import RateTable
from clientpulse.shared.telemetry import EVENTS_HANDLED
from clientpulse.shared.testing.servers import create_database, drop_database
from clientpulse.tiering.app import MIGRATIONS
from clientpulse.tiering.events import handlers

TARGETS = {"postgresql": 0.5, "sqlite": 0.3}


def invoices(round_number: int, count: int) -> list[bytes]:
    return [
        wrap(
            InvoicePosted(
                invoice_id=f"inv-{round_number}-{n:06d}",
                client_id=f"co-{n % 500}",
                issued_on=date(2026, 1, 1 + n % 28),
                amount_minor=1_000 + n,
                currency="EUR",
            ),
            source="billing",
        ).to_json()
        for n in range(count)
    ]


async def publish(nats_url: str, subject: str, stream: str, payloads: list[bytes]) -> None:
    """Pipelined publication (windows of 500), ids unique to the run."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        for start in range(0, len(payloads), 500):
            await asyncio.gather(*(js.publish(subject, body, stream=stream) for body in payloads[start : start + 500]))
    finally:
        await connection.close()


async def bare(nats_url: str, payloads: list[bytes], round_number: int) -> float:
    """A bare FastStream pull subscriber draining ``payloads`` from a scratch stream."""
    stream, subject = f"SCRATCH{round_number}", f"scratch{round_number}.invoice"
    connection = await nats.connect(nats_url)
    await connection.jetstream().add_stream(name=stream, subjects=[subject])
    await connection.close()
    await publish(nats_url, subject, stream, payloads)
    done = asyncio.Event()
    seen = 0
    broker = NatsBroker(nats_url, logger=None)

    @broker.subscriber(subject, stream=stream, durable="bare", pull_sub=PullSub(batch_size=100, batch=True))
    async def consume(bodies: list[Any]) -> None:
        nonlocal seen
        seen += len(bodies)
        if seen >= len(payloads):
            done.set()

    began = time.perf_counter()
    await broker.start()
    await done.wait()
    seconds = time.perf_counter() - began
    await broker.stop()
    return seconds


async def ledger(nats_url: str, database: Database, payloads: list[bytes]) -> float:
    """The tiering service's consumers, timed until every invoice is applied."""
    bus = EventBus(service="tiering", nats_url=nats_url, database=database)
    handlers.register(bus, RateTable("EUR", []))
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    with contextlib.suppress(Exception):  # it exists from an earlier round
        await js.add_stream(stream_config(Stream.BILLING, bus.stream_settings))
    await connection.close()
    await publish(nats_url, InvoicePosted.subject, Stream.BILLING.value, payloads)
    applied = EVENTS_HANDLED.labels("tiering", "tiering-invoice-posted", "applied")
    before = applied._value.get()
    began = time.perf_counter()
    await bus.start()
    while applied._value.get() - before < len(payloads):  # noqa: ASYNC110 - a counter, polled
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - began
    await bus.stop()
    return seconds


async def bench(kind: str, database_url: str, nats_url: str, events: int, rounds: int) -> tuple[float, float]:
    await migrate(MIGRATIONS, database_url)
    database = Database(database_url)
    base: list[float] = []
    ours: list[float] = []
    try:
        for round_number in range(1, rounds + 1):
            payloads = invoices(round_number, events)
            base.append(events / await bare(nats_url, payloads, round_number))
            ours.append(events / await ledger(nats_url, database, payloads))
            print(
                f"{kind} round {round_number}: bare FastStream {base[-1]:,.0f} events/s, tiering ledger "
                f"{ours[-1]:,.0f} events/s ({ours[-1] / base[-1]:.2f}×)",
                flush=True,
            )
    finally:
        await database.dispose()
    return statistics.median(base), statistics.median(ours)


def run(kind: str, args: argparse.Namespace, nats_url: str) -> None:
    folder = tempfile.TemporaryDirectory()
    if kind == "sqlite":
        database_url = f"sqlite+aiosqlite:///{Path(folder.name) / 'tiering.db'}"
    else:
        database_url = create_database(args.url, prefix="bench_ingest")
    try:
        base, ours = asyncio.run(bench(kind, database_url, nats_url, args.events, args.rounds))
    finally:
        if kind != "sqlite":
            drop_database(database_url)
        folder.cleanup()
    target = TARGETS[kind]
    print(f"baseline: bare FastStream pull subscriber (batch 100, no database)   median {base:,.0f} events/s")
    print(
        f"tiering ledger on {kind} (batched consumer)            median {ours:,.0f} events/s "
        f"({ours / base:.2f}×; target ≥ {target}×: {'met' if ours / base >= target else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write a pyinstrument profile of the run to this HTML file")
    args = parser.parse_args()
    kinds = ["postgresql", "sqlite"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory() as folder:
        server = NatsServerProcess(Path(folder) / "nats").start()
        try:
            for kind in kinds:
                if args.profile:
                    from pyinstrument import Profiler

                    with Profiler(async_mode="disabled") as profiler:
                        run(kind, args, server.url)
                    Path(args.profile).write_text(profiler.output_html())
                    print(profiler.output_text(unicode=True, color=False))
                else:
                    run(kind, args, server.url)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
