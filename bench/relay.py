"""The outbox relay against pipelined JetStream publishing of the same payloads from the same process, in
the same run (target: the relay at ≥ 0.8× the pipelined rate).

A fresh PostgreSQL database (created and dropped) and a local nats-server. Each round writes ``--events``
TierChanged outbox rows (committed before the clock starts), then times
- the baseline: the same payloads and headers published with ``js.publish`` in windows of the relay's batch
  size, all of a window sent before its acknowledgements are awaited (``asyncio.gather``), no database;
- the relay: ``OutboxRelay`` running as in a service (read the rows, publish them, mark them; its passes
  overlap on PostgreSQL) until every row is published.
Figures are medians over rounds; the two alternate within each round.

usage: python bench/relay.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--events 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, insert

from clientpulse.shared.contracts import Stream, wrap
from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierChanged
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging import MESSAGING_METADATA, EventBus, outbox
from clientpulse.shared.messaging.core import MSG_ID_HEADER
from clientpulse.shared.telemetry import OUTBOX_PUBLISHED
from clientpulse.shared.testing.servers import create_database, drop_database

TARGET = 0.8


def tier_changed(n: int, round_number: int) -> dict[str, object]:
    envelope = wrap(
        TierChanged(
            client_id=f"co-{n:06d}",
            old_tier=Tier.CORE,
            new_tier=Tier.PLATINUM,
            old_score=Decimal("61.5"),
            new_score=Decimal("87.25"),
            cause=TierChangeCause.RECALCULATION,
        ),
        source="tiering",
    )
    return {
        "event_id": f"{envelope.id}-{round_number}",
        "subject": TierChanged.subject,
        "stream": Stream.TIERING.value,
        "payload": envelope.to_json(),
        "headers": {},
        "created_at": datetime.now(UTC),
    }


async def seed(database: Database, rows: list[dict[str, object]]) -> None:
    async with database.transaction(notify=False) as session:
        await session.execute(delete(outbox))
        for start in range(0, len(rows), 2000):
            await session.execute(insert(outbox), rows[start : start + 2000])


async def pipelined(bus: EventBus, rows: list[dict[str, object]], window: int) -> float:
    js = bus.broker.connection.jetstream()
    began = time.perf_counter()
    for start in range(0, len(rows), window):
        await asyncio.gather(
            *(
                js.publish(
                    str(row["subject"]),
                    row["payload"],  # type: ignore[arg-type]
                    timeout=5.0,
                    stream=str(row["stream"]),
                    headers={MSG_ID_HEADER: f"base-{row['event_id']}", "Content-Type": "application/cloudevents+json"},
                )
                for row in rows[start : start + window]
            )
        )
    return time.perf_counter() - began


async def relayed(bus: EventBus, events: int) -> tuple[int, float]:
    """The relay as a service runs it (its passes overlapping), timed until nothing is pending."""
    published = OUTBOX_PUBLISHED.labels("bench", TierChanged.subject)
    before = published._value.get()
    began = time.perf_counter()
    bus.relay.start()
    while published._value.get() - before < events:  # noqa: ASYNC110 - a counter, polled
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - began
    await bus.relay.stop()
    return int(published._value.get() - before), seconds


async def bench(database_url: str, events: int, rounds: int) -> None:
    database = Database(database_url)
    folder = tempfile.TemporaryDirectory()
    server = NatsServerProcess(Path(folder.name) / "nats").start()
    bus = EventBus(service="bench", nats_url=server.url, database=database)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(MESSAGING_METADATA.create_all)
        await bus.broker.connect()
        await bus.declare_streams([Stream.TIERING])
        window = bus.relay.batch_size
        base_rates: list[float] = []
        relay_rates: list[float] = []
        for round_number in range(1, rounds + 1):
            rows = [tier_changed(n, round_number) for n in range(events)]
            base_rates.append(events / await pipelined(bus, rows, window))
            await seed(database, rows)
            published, seconds = await relayed(bus, events)
            assert published == events, (published, events)
            relay_rates.append(events / seconds)
            print(
                f"round {round_number}: pipelined publish {base_rates[-1]:,.0f}/s, relay {relay_rates[-1]:,.0f}/s "
                f"({relay_rates[-1] / base_rates[-1]:.2f}×)",
                flush=True,
            )
        base, relay = statistics.median(base_rates), statistics.median(relay_rates)
        ratios = [r / b for r, b in zip(relay_rates, base_rates, strict=True)]
        print()
        print(f"baseline: pipelined js.publish (windows of {window})       median {base:,.0f} events/s")
        print(
            f"outbox relay (read, publish, mark; batches of {window})   median {relay:,.0f} events/s "
            f"(median ratio {statistics.median(ratios):.2f}×; target ≥ {TARGET}×: "
            f"{'met' if statistics.median(ratios) >= TARGET else 'NOT met'})"
        )
    finally:
        await bus.broker.stop()
        server.stop()
        folder.cleanup()
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write a pyinstrument profile of the run to this HTML file")
    args = parser.parse_args()
    database_url = create_database(args.url, prefix="bench_relay")
    try:
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="disabled") as profiler:
                asyncio.run(bench(database_url, args.events, args.rounds))
            Path(args.profile).write_text(profiler.output_html())
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            asyncio.run(bench(database_url, args.events, args.rounds))
    finally:
        drop_database(database_url)


if __name__ == "__main__":
    main()
