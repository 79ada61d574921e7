"""The live stream's reading loop on the embedded SQLite database: heartbeats, resume, and rows that
commit out of id order (two consumers racing) still reach the stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clientpulse.notifications.api.stream import BATCH, notification_events
from clientpulse.notifications.app import MIGRATIONS
from clientpulse.notifications.db.repositories.notifications import NotificationRepository
from clientpulse.notifications.feed import NotificationFeed
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import Database, migrate, utcnow


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
    await migrate(MIGRATIONS, url)
    database = Database(url)
    yield database
    await database.dispose()


async def add(database: Database, recipient: str, notification_id: str, title: str) -> None:
    async with database.transaction() as session:
        await NotificationRepository(session).add_once(
            {
                "id": notification_id,
                "recipient_id": recipient,
                "rule": "test",
                "title": title,
                "body": "",
                "client_id": None,
                "link": None,
                "source_event_id": notification_id,
                "created_at": utcnow(),
            }
        )


async def test_a_quiet_stream_sends_heartbeats(database: Database) -> None:
    feed = NotificationFeed()
    events = notification_events(database, feed, "u-1", None, poll_interval=0.05, heartbeat_interval=0.1)
    first, second = [await anext(events) for _ in range(2)]
    assert (first.comment, second.comment) == ("connected", "heartbeat")
    await events.aclose()


async def test_a_row_committed_after_a_newer_one_is_still_sent_once(database: Database) -> None:
    feed = NotificationFeed()
    database.on_commit(feed.wake)
    earlier, later = new_event_id(), new_event_id()
    assert earlier < later
    events = notification_events(database, feed, "u-1", "", poll_interval=0.05, heartbeat_interval=60)
    assert (await anext(events)).comment == "connected"
    await add(database, "u-1", later, "later")
    assert (await asyncio.wait_for(anext(events), 5)).id == later
    await add(database, "u-1", earlier, "earlier")  # its transaction began first but committed last
    await add(database, "u-2", new_event_id(), "someone else's")
    assert (await asyncio.wait_for(anext(events), 5)).id == earlier
    third = new_event_id()
    await add(database, "u-1", third, "third")
    assert (await asyncio.wait_for(anext(events), 5)).id == third  # nothing sent twice in between
    await events.aclose()


async def test_a_reconnect_resumes_after_the_last_event_id_and_a_fresh_one_starts_from_now(database: Database) -> None:
    feed = NotificationFeed()
    ids = [new_event_id() for _ in range(3)]
    for n, notification_id in enumerate(ids):
        await add(database, "u-1", notification_id, f"n{n}")
    resumed = notification_events(database, feed, "u-1", ids[0], poll_interval=0.05, heartbeat_interval=60)
    await anext(resumed)
    assert [(await anext(resumed)).id for _ in range(2)] == ids[1:]
    await resumed.aclose()

    fresh = notification_events(database, feed, "u-1", None, poll_interval=0.05, heartbeat_interval=0.1)
    await anext(fresh)
    assert (await anext(fresh)).comment == "heartbeat"  # nothing old replayed
    await fresh.aclose()


async def test_a_commit_while_the_subscriber_reads_the_table_is_not_lost() -> None:
    feed = NotificationFeed()
    seen = feed.generation  # noted before reading the table
    feed.wake()  # a commit lands while the subscriber is still reading
    await asyncio.wait_for(feed.wait(seen, 3600), 1)  # returns at once instead of sleeping an hour
    waiting = asyncio.create_task(feed.wait(feed.generation, 3600))
    await asyncio.sleep(0)
    assert not waiting.done()
    feed.wake()
    await asyncio.wait_for(waiting, 1)


async def test_a_busy_recipient_gets_every_notification_once(database: Database) -> None:
    # More notifications within the look back than one page: each still reaches the stream, once, and
    # the stream goes on to the next ones instead of re-reading the window.
    feed = NotificationFeed()
    database.on_commit(feed.wake)
    events = notification_events(database, feed, "u-1", "", poll_interval=0.05, heartbeat_interval=60)
    assert (await anext(events)).comment == "connected"
    burst = [new_event_id() for _ in range(BATCH * 2 + 50)]
    for n, notification_id in enumerate(burst):
        await add(database, "u-1", notification_id, f"n{n}")
    received = [(await asyncio.wait_for(anext(events), 5)).id for _ in burst]
    assert received == burst
    late, after = new_event_id(), new_event_id()
    await add(database, "u-1", after, "after the burst")
    assert (await asyncio.wait_for(anext(events), 5)).id == after
    await add(database, "u-1", late, "committed late, minted before the newest sent")
    assert (await asyncio.wait_for(anext(events), 5)).id == late
    await events.aclose()
