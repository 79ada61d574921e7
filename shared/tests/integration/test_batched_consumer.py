"""Batched consumers: a fetched batch is applied in one transaction (one inbox statement, a savepoint per
event, one commit, then the acks); an event that fails is rolled back and retried alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from probe_testkit import applied, applied_count, create_tables, probe_bus
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import Database, when_unit_ends
from clientpulse.shared.messaging import EventBus, dead_letters, inbox
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.telemetry import EVENTS_HANDLED
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await create_tables(db)
    yield db
    await db.dispose()


def deal(deal_id: str) -> Envelope[DealWon]:
    return wrap(DealWon(deal_id=deal_id, client_id="co-1", won_at=datetime.now(UTC)), source="crm")


async def count(database: Database, query: Any) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_a_batch_commits_once_and_a_poison_event_fails_alone(database: Database, clean_nats: str) -> None:
    events = [deal(f"deal-{n}") for n in range(40)]
    events[7] = deal("poison")
    events[23] = deal("impossible")
    failed = EVENTS_HANDLED.labels("probe", "probe-deal-won", "failed")
    failed_before = failed._value.get()
    await publish_envelopes(clean_nats, events)
    bus = probe_bus(database, clean_nats, batched=True, batch_size=100)
    await bus.start()
    try:

        async def settled() -> bool:
            done = await count(database, select(func.count()).select_from(applied)) >= 38
            return done and await count(database, select(func.count()).select_from(dead_letters)) == 2

        assert await wait_until(settled, within=30, interval=0.1)
        await asyncio.sleep(0.5)
    finally:
        await bus.stop()
    for n in range(40):
        if n not in (7, 23):
            assert await applied_count(database, f"deal-{n}") == 1
    # The poison event's row was rolled back with its savepoint each time; its claim was released.
    assert await applied_count(database, "poison") == 0
    assert await count(database, select(func.count()).select_from(inbox)) == 38
    # Every delivery of the poison event failed alone: max_deliver (3) attempts, nothing more.
    assert failed._value.get() - failed_before == 3
    # The 38 claims were made by one statement in one transaction: at most a few batches' timestamps.
    stamps = await count(database, select(func.count(func.distinct(inbox.c.handled_at))))
    assert stamps <= 3


async def test_an_event_in_the_stream_twice_is_applied_once(database: Database, clean_nats: str) -> None:
    event = deal("twice")
    await publish_envelopes(clean_nats, [event, deal("other")])
    connection = await nats.connect(clean_nats)
    try:  # the same event again under another message id: past the duplicate window, as a late retry is
        await connection.jetstream().publish(
            DealWon.subject, event.to_json(), headers={"Nats-Msg-Id": "late-retry"}, stream=DealWon.stream.value
        )
    finally:
        await connection.close()
    bus = probe_bus(database, clean_nats, batched=True)
    await bus.start()
    try:

        async def both() -> bool:
            return await applied_count(database, "other") == 1 and await applied_count(database, "twice") == 1

        assert await wait_until(both, within=20, interval=0.1)
        await asyncio.sleep(0.5)
    finally:
        await bus.stop()
    assert await applied_count(database, "twice") == 1


async def test_callbacks_of_an_undone_event_say_so_and_the_rest_count_after_commit(
    database: Database, clean_nats: str
) -> None:
    seen: list[str] = []
    bus = EventBus(service="cb", nats_url=clean_nats, database=database, backoff=[0.1], max_deliver=2, ack_wait=2.0)

    @bus.consumer(DealWon, name="deal-won", batched=True)
    async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
        deal_id = envelope.data.deal_id
        when_unit_ends(
            session, committed=lambda: seen.append(f"+{deal_id}"), rolled_back=lambda: seen.append(f"-{deal_id}")
        )
        await session.execute(applied.insert().values(event_id=envelope.id, deal_id=deal_id))
        if deal_id == "bad":
            raise RuntimeError("fails")

    await publish_envelopes(clean_nats, [deal("good"), deal("bad")])
    await bus.start()
    try:

        async def settled() -> bool:
            return seen.count("-bad") == 2 and "+good" in seen

        assert await wait_until(settled, within=20, interval=0.1)
        await asyncio.sleep(0.5)
    finally:
        await bus.stop()
    assert seen.count("+good") == 1
    assert "+bad" not in seen
