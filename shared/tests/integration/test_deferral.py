"""A handler that asks for an event again later (``Deferred``): the event comes back after the delay,
more often than the consumer's delivery limit allows failures, and is applied once, never dead-lettered."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from probe_testkit import applied, applied_count, create_tables
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import Deferred, EventBus, dead_letters
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.telemetry import EVENTS_HANDLED
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

DEFERRALS = 6  # more than max_deliver: deferrals must not use up the deliveries


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await create_tables(db)
    yield db
    await db.dispose()


async def test_a_deferred_event_comes_back_after_its_delay_and_is_applied_once(
    database: Database, clean_nats: str
) -> None:
    asked: Counter[str] = Counter()
    seen_at: list[float] = []
    bus = EventBus(
        service="defer", nats_url=clean_nats, database=database, backoff=[0.1, 0.2], max_deliver=3, ack_wait=2.0
    )

    @bus.consumer(DealWon, name="deal-won")
    async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
        # Written before deferring: the unit of work rolls back, so these rows must never stay.
        await session.execute(applied.insert().values(event_id=envelope.id, deal_id=envelope.data.deal_id))
        asked[envelope.id] += 1
        seen_at.append(time.monotonic())
        if asked[envelope.id] <= DEFERRALS:
            raise Deferred(0.2, "the outside system asked to wait")

    before = EVENTS_HANDLED.labels("defer", "defer-deal-won", "deferred")._value.get()
    await bus.start()
    try:
        event = wrap(DealWon(deal_id="later", client_id="co-1", won_at=datetime.now(UTC)), source="crm")
        await publish_envelopes(clean_nats, [event])

        async def applied_once() -> bool:
            return await applied_count(database, "later") == 1

        assert await wait_until(applied_once, within=20)
    finally:
        await bus.stop()
    assert asked[event.id] == DEFERRALS + 1
    assert EVENTS_HANDLED.labels("defer", "defer-deal-won", "deferred")._value.get() - before == DEFERRALS
    gaps = [b - a for a, b in pairwise(seen_at)]
    assert min(gaps) >= 0.15  # each came back after the delay the handler named, the copy included
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(dead_letters)) == 0
        assert await session.scalar(select(func.count()).select_from(applied)) == 1
