"""Dead letters captured through the durable advisory stream, against a real NATS and real databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from probe_testkit import create_tables, probe_bus
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from clientpulse.shared.contracts import Envelope, Stream, wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import dead_letters
from clientpulse.shared.messaging.dead_letters import (
    DEAD_LETTER_STREAM,
    DeadLetterCapture,
    DeadLetterSettings,
    advisory_subject,
)
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

DURABLE = "probe-deal-won"


def deal(deal_id: str) -> Envelope[DealWon]:
    return wrap(DealWon(deal_id=deal_id, client_id="co-1", won_at=datetime.now(UTC)), source="crm")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await create_tables(db)
    yield db
    await db.dispose()


async def rows(database: Database) -> list[tuple[str, str, int, str | None]]:
    async with database.sessions() as session:
        c = dead_letters.c
        query = select(c.consumer, c.reason, c.stream_seq, c.subject).order_by(c.stream_seq)
        return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(query)).all()]


def dead_letter_metric(reason: str) -> float | None:
    return REGISTRY.get_sample_value(
        "clientpulse_dead_letters_total", {"service": "probe", "consumer": DURABLE, "reason": reason}
    )


async def test_a_dead_letter_made_while_no_capture_runs_is_recorded_when_the_service_next_starts(
    database: Database, clean_nats: str
) -> None:
    bus = probe_bus(database, clean_nats)
    await bus.start(publishes=[Stream.CLIENTS])
    # The service's consumers keep running; its dead-letter capture does not exist at all.
    await bus.dead_letters.stop()
    connection = await nats.connect(clean_nats)
    js = connection.jetstream()
    try:
        await js.delete_consumer(DEAD_LETTER_STREAM, bus.dead_letters.durable)
        await publish_envelopes(clean_nats, [deal("poison")])  # exhausts max_deliver
        await js.publish("crm.v1.deal.won", b'{"not": "an envelope"}', stream="CRM")  # terminated at once

        async def both_advisories_kept() -> bool:
            return (await js.stream_info(DEAD_LETTER_STREAM)).state.messages == 2

        assert await wait_until(both_advisories_kept, within=15)
        await bus.stop()
        assert await rows(database) == []

        restarted = probe_bus(database, clean_nats)
        await restarted.start(publishes=[Stream.CLIENTS])
        try:

            async def recorded() -> bool:
                return len(await rows(database)) == 2

            assert await wait_until(recorded, within=10)
            assert await rows(database) == [
                (DURABLE, "max_deliveries", 1, "crm.v1.deal.won"),
                (DURABLE, "terminated", 2, "crm.v1.deal.won"),
            ]

            async def acknowledged() -> bool:
                info = await js.consumer_info(DEAD_LETTER_STREAM, restarted.dead_letters.durable)
                return info.num_ack_pending == 0 and info.num_pending == 0

            assert await wait_until(acknowledged, within=5)
        finally:
            await restarted.stop()
    finally:
        await connection.close()


async def test_an_advisory_delivered_twice_is_one_dead_letter(database: Database, clean_nats: str) -> None:
    bus = probe_bus(database, clean_nats)
    await bus.start(publishes=[Stream.CLIENTS])
    # Exported at 0 from the start, so an alert's increase() sees the first dead letter.
    assert dead_letter_metric("max_deliveries") is not None
    assert dead_letter_metric("terminated") is not None
    before = dead_letter_metric("max_deliveries") or 0.0
    connection = await nats.connect(clean_nats)
    try:
        js = connection.jetstream()
        await publish_envelopes(clean_nats, [deal("kept-in-the-stream")])
        advisory = json.dumps(
            {
                "type": "io.nats.jetstream.advisory.v1.max_deliver",
                "stream": "CRM",
                "consumer": DURABLE,
                "stream_seq": 1,
                "deliveries": 3,
            }
        ).encode()
        # The same advisory twice (a replica that recorded it died before its ack reached NATS).
        for _ in range(2):
            await js.publish(advisory_subject("MAX_DELIVERIES", "CRM", DURABLE), advisory, stream=DEAD_LETTER_STREAM)

        async def both_handled() -> bool:
            info = await js.consumer_info(DEAD_LETTER_STREAM, bus.dead_letters.durable)
            return info.delivered.stream_seq == 2 and info.num_ack_pending == 0

        assert await wait_until(both_handled, within=10)
        assert await rows(database) == [(DURABLE, "max_deliveries", 1, "crm.v1.deal.won")]
        assert (dead_letter_metric("max_deliveries") or 0.0) - before == 1
    finally:
        await connection.close()
        await bus.stop()


async def test_a_dead_letter_waits_for_the_database_and_is_recorded_when_it_returns(
    clean_nats: str, tmp_path: Path
) -> None:
    # A SQLite file in a folder that does not exist yet: every attempt fails until the folder appears.
    folder = tmp_path / "not-yet"
    database = Database(f"sqlite+aiosqlite:///{folder / 'probe.db'}")
    bus = probe_bus(database, clean_nats, dead_letter_settings=DeadLetterSettings(retry_delays=(0.2, 0.4)))
    capture: DeadLetterCapture = bus.dead_letters
    connection = await nats.connect(clean_nats)
    try:
        await capture.declare(connection)
        await capture.start(connection)
        js = connection.jetstream()
        advisory = json.dumps({"stream": "CRM", "consumer": DURABLE, "stream_seq": 7, "deliveries": 3}).encode()
        await js.publish(advisory_subject("MAX_DELIVERIES", "CRM", DURABLE), advisory, stream=DEAD_LETTER_STREAM)

        async def retried() -> bool:
            info = await js.consumer_info(DEAD_LETTER_STREAM, capture.durable)
            return info.num_redelivered >= 1

        assert await wait_until(retried, within=10)
        folder.mkdir()
        await create_tables(database)

        async def recorded() -> bool:
            async with database.sessions() as session:
                return await session.scalar(select(func.count()).select_from(dead_letters)) == 1

        assert await wait_until(recorded, within=10)
        info = await js.consumer_info(DEAD_LETTER_STREAM, capture.durable)
        assert info.num_pending == 0
    finally:
        await capture.stop()
        await connection.close()
        await database.dispose()
