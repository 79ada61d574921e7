"""Handlers slower than the first retry delay: every message of the batch is delivered once.

JetStream uses a consumer's ``backoff`` list as the ack wait of each delivery, so a consumer declared
with a 0.5 s first step would have every message still in its handler after 0.5 s redelivered, and
under load pushed towards its delivery limit without a single failure.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from probe_testkit import applied, applied_count, create_tables
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import EventBus
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.telemetry import EVENTS_HANDLED
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

EVENTS = 12
HANDLING_SECONDS = 0.8  # well past the first retry delay (0.2 s), well within the ack wait


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await create_tables(db)
    yield db
    await db.dispose()


async def test_messages_in_slow_handlers_are_not_redelivered(database: Database, clean_nats: str) -> None:
    handled: Counter[str] = Counter()
    bus = EventBus(service="slow", nats_url=clean_nats, database=database, backoff=[0.2, 1.0], pull_batch_size=EVENTS)

    @bus.consumer(DealWon, name="deal-won")
    async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
        handled[envelope.id] += 1
        await asyncio.sleep(HANDLING_SECONDS)
        await session.execute(applied.insert().values(event_id=envelope.id, deal_id=envelope.data.deal_id))

    events = [
        wrap(DealWon(deal_id=f"deal-{n}", client_id="co-1", won_at=datetime.now(UTC)), source="crm")
        for n in range(EVENTS)
    ]
    duplicates = EVENTS_HANDLED.labels("slow", "slow-deal-won", "duplicate")
    before = duplicates._value.get()
    await publish_envelopes(clean_nats, events)
    await bus.start()
    try:

        async def all_applied() -> bool:
            counts = [await applied_count(database, f"deal-{n}") for n in range(EVENTS)]
            return all(count == 1 for count in counts)

        assert await wait_until(all_applied, within=30)
        await asyncio.sleep(1.5)  # a redelivery already under way would arrive here
    finally:
        await bus.stop()
    assert set(handled.values()) == {1}
    # A redelivered message is caught by the inbox and counted as a duplicate: none may have come back.
    assert duplicates._value.get() - before == 0
    connection = await nats.connect(clean_nats)
    try:
        info = await connection.jetstream().consumer_info(DealWon.stream.value, "slow-deal-won")
        assert info.config.ack_wait is not None and info.config.ack_wait >= 30
    finally:
        await connection.close()
