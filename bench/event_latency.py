"""Event latency at a steady rate: from the commit of a change (its TierChanged in the outbox) to the commit
of a batched consumer's effect in another service, on PostgreSQL, against a bare JetStream round trip
(``js.publish`` to a pull subscriber's ``fetch``) of the same payloads at the same rate, in the same run.

This is the part of Score Now → the DM's live stream that the event backbone owns: the relay's wake-up,
its publication, the consumer's pull, its transaction. (The HTTP request before and the live stream's
wake-up after are outside it; the stream is woken by the consumer's commit, ``bench/notifications_stream.py``.)

Each round sends ``--rate`` events per second for ``--seconds``; figures are p50 and p99 over all of a
round's events, medians over rounds. Two seconds at the rate, before the first round, are not counted:
they open the pools' connections. The target on this part: p99 ≤ 50 ms at 200 per second.

usage: python bench/event_latency.py [--rate 200] [--seconds 10] [--rounds 3]
                                     [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, Stream, wrap
from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierChanged
from clientpulse.shared.db import Database, when_unit_ends
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging import MESSAGING_METADATA, EventBus, record_event
from clientpulse.shared.testing.servers import create_database, drop_database

TARGET_P99_MS = 50.0


def tier_changed(n: int) -> Envelope[TierChanged]:
    return wrap(
        TierChanged(
            client_id=f"co-{n:06d}",
            old_tier=Tier.CORE,
            new_tier=Tier.PLATINUM,
            old_score=Decimal("61.5"),
            new_score=Decimal("87.25"),
            cause=TierChangeCause.SCORE_NOW,
        ),
        source="tiering",
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def print_split(parts: dict[str, list[float]]) -> None:
    """Where a round's time went: each part's p50 and p99, in milliseconds."""
    print(
        "  where it goes: "
        + "; ".join(
            f"{name} p50 {percentile(values, 0.5) * 1000:.1f} ms p99 {percentile(values, 0.99) * 1000:.1f} ms"
            for name, values in parts.items()
            if values
        ),
        flush=True,
    )


def print_summary(
    baseline: str, base: list[tuple[float, float]], measured: str, ours: list[tuple[float, float]]
) -> None:
    """The closing lines: each side's median p50 and p99 (ms) over rounds, and the worst round against the
    target."""
    p50, p99 = statistics.median(o[0] for o in ours), statistics.median(o[1] for o in ours)
    worst = max(o[1] for o in ours)
    print()
    print(
        f"baseline: {baseline}   median p50 {statistics.median(b[0] for b in base):.1f} ms, "
        f"p99 {statistics.median(b[1] for b in base):.1f} ms"
    )
    print(
        f"{measured}   median p50 {p50:.1f} ms, p99 {p99:.1f} ms, worst round's p99 {worst:.1f} ms "
        f"(target p99 ≤ {TARGET_P99_MS:.0f} ms in every round: {'met' if worst <= TARGET_P99_MS else 'NOT met'})"
    )


async def steady(rate: float, seconds: float, send: Callable[[int], Awaitable[None]]) -> None:
    """Call ``send(n)`` ``rate`` times a second, each at its own time (not in bursts)."""
    began = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        asyncio.get_running_loop().create_task(send(n))


async def backbone_round(
    producer: Database, consumer_db: Database, nats_url: str, args: argparse.Namespace
) -> list[float]:
    sent: dict[str, float] = {}
    stored: dict[str, float] = {}  # the producer's commit
    handled: dict[str, float] = {}  # the consumer's handler ran
    latencies: list[float] = []
    expected = int(args.rate * args.seconds)
    done = asyncio.Event()
    source = EventBus(service="tiering", nats_url=nats_url, database=producer)
    sink = EventBus(service="notifications", nats_url=nats_url, database=consumer_db)

    async def on_tier_changed(envelope: Envelope[Any], session: AsyncSession) -> None:
        handled[envelope.id] = time.perf_counter()

        def committed() -> None:
            latencies.append(time.perf_counter() - sent[envelope.id])
            if len(latencies) >= expected:
                done.set()

        when_unit_ends(session, committed=committed)

    sink.consumer(TierChanged, name="tier-changed", batched=True)(on_tier_changed)
    await source.start(publishes=[Stream.TIERING])
    await sink.start()

    async def send(n: int) -> None:
        envelope = tier_changed(n)
        sent[envelope.id] = time.perf_counter()
        async with producer.transaction() as session:
            await record_event(session, envelope)
        stored[envelope.id] = time.perf_counter()

    try:
        await steady(args.rate, args.seconds, send)
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await sink.stop()
        await source.stop()
    parts = {
        "producer's commit": [stored[i] - sent[i] for i in sent if i in stored],
        "relay + NATS + pull": [handled[i] - stored[i] for i in handled if i in stored],
    }
    print_split(parts)
    return latencies


async def bare_round(nats_url: str, args: argparse.Namespace, round_number: int) -> list[float]:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    stream, subject = f"BARE{round_number}", f"bare{round_number}.tier"
    await js.add_stream(name=stream, subjects=[subject])
    subscription = await js.pull_subscribe(subject, durable="bare", stream=stream)
    expected = int(args.rate * args.seconds)
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < expected:
            try:
                messages = await subscription.fetch(100, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            now = time.perf_counter()
            for message in messages:
                latencies.append(now - sent[message.headers["Nats-Msg-Id"]])
                await message.ack()

    async def send(n: int) -> None:
        envelope = tier_changed(n)
        sent[envelope.id] = time.perf_counter()
        await js.publish(subject, envelope.to_json(), stream=stream, headers={"Nats-Msg-Id": envelope.id})

    receiving = asyncio.create_task(receive())
    await steady(args.rate, args.seconds, send)
    await asyncio.wait_for(receiving, timeout=60)
    await connection.close()
    return latencies


async def bench(database_urls: tuple[str, str], nats_url: str, args: argparse.Namespace) -> None:
    producer, consumer_db = Database(database_urls[0]), Database(database_urls[1])
    for database in (producer, consumer_db):
        async with database.engine.begin() as connection:
            await connection.run_sync(MESSAGING_METADATA.create_all)
    ours: list[tuple[float, float]] = []
    base: list[tuple[float, float]] = []
    try:
        # The pools open their connections (a PostgreSQL process and asyncpg's handshake each) in the first
        # second: that is a start, not the steady rate, so it is run once beforehand and not counted.
        warm = await backbone_round(producer, consumer_db, nats_url, argparse.Namespace(rate=args.rate, seconds=2.0))
        print(f"warm-up, not counted: {len(warm)} events at {args.rate:g}/s", flush=True)
        for round_number in range(1, args.rounds + 1):
            bare = await bare_round(nats_url, args, round_number)
            measured = await backbone_round(producer, consumer_db, nats_url, args)
            base.append((percentile(bare, 0.5) * 1000, percentile(bare, 0.99) * 1000))
            ours.append((percentile(measured, 0.5) * 1000, percentile(measured, 0.99) * 1000))
            print(
                f"round {round_number} ({len(measured)} events at {args.rate:g}/s): bare JetStream p50 "
                f"{base[-1][0]:.1f} ms p99 {base[-1][1]:.1f} ms; outbox → batched consumer commit p50 "
                f"{ours[-1][0]:.1f} ms p99 {ours[-1][1]:.1f} ms (max {max(measured) * 1000:.1f} ms)",
                flush=True,
            )
    finally:
        await producer.dispose()
        await consumer_db.dispose()
    print_summary("bare js.publish → pull fetch", base, "commit → outbox relay → batched consumer's commit", ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    urls = (create_database(args.url, prefix="bench_lat_src"), create_database(args.url, prefix="bench_lat_dst"))
    try:
        with tempfile.TemporaryDirectory() as folder:
            server = NatsServerProcess(Path(folder) / "nats").start()
            try:
                asyncio.run(bench(urls, server.url, args))
            finally:
                server.stop()
    finally:
        for url in urls:
            drop_database(url)


if __name__ == "__main__":
    main()
