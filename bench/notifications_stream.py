"""Live-stream latency: from a notification's commit to its SSE message, with the commit wake-up (one
replica) against the table-polling fallback alone (what a subscriber on *another* replica gets), in the
same run, on the embedded SQLite database. Medians over rounds.

usage: python bench/notifications_stream.py [--rounds 30] [--poll 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from clientpulse.notifications.api.stream import notification_events
from clientpulse.notifications.app import MIGRATIONS
from clientpulse.notifications.db.repositories.notifications import NotificationRepository
from clientpulse.notifications.feed import NotificationFeed
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import Database, migrate, utcnow


async def latencies(database: Database, *, wake: bool, rounds: int, poll: float) -> list[float]:
    feed = NotificationFeed()
    if wake:
        database.on_commit(feed.wake)
    recipient = f"u-bench-{'pushed' if wake else 'polled'}"
    events = notification_events(database, feed, recipient, "", poll_interval=poll, heartbeat_interval=3600)
    await anext(events)  # connected
    received: asyncio.Queue[float] = asyncio.Queue()

    async def pump() -> None:
        # As the HTTP server does: ask for the next message as soon as one is sent.
        async for _message in events:
            received.put_nowait(time.perf_counter())

    pumping = asyncio.create_task(pump())
    measured: list[float] = []
    for _ in range(rounds):
        await asyncio.sleep(poll * 0.37)  # land commits at varying points of the polling cycle
        started = time.perf_counter()
        async with database.transaction() as session:
            await NotificationRepository(session).add_once(
                {
                    "id": new_event_id(),
                    "recipient_id": recipient,
                    "rule": "bench",
                    "title": "t",
                    "body": "",
                    "client_id": None,
                    "link": None,
                    "source_event_id": new_event_id(),
                    "created_at": utcnow(),
                }
            )
        measured.append(await received.get() - started)
    pumping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pumping  # the stream's last read ends before its database is disposed
    return measured


async def main(rounds: int, poll: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await migrate(MIGRATIONS, url)
        pushed_db, polled_db = Database(url), Database(url)
        pushed = await latencies(pushed_db, wake=True, rounds=rounds, poll=poll)
        polled = await latencies(polled_db, wake=False, rounds=rounds, poll=poll)
        await pushed_db.dispose()
        await polled_db.dispose()
    print(f"commit → SSE message, median of {rounds} (poll interval {poll:.1f}s):")
    print(f"  woken on commit (same replica):        {statistics.median(pushed) * 1000:8.1f} ms")
    print(f"  polling fallback (baseline, other replica): {statistics.median(polled) * 1000:8.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--poll", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.poll))
