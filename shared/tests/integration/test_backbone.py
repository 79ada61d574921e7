"""The event backbone against a real NATS with JetStream and real databases (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from opentelemetry import trace
from probe_testkit import applied_count, create_tables, probe_bus
from sqlalchemy import func, select

from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus, DealWon
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import EventBus, dead_letters, outbox, record_event
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.telemetry import configure_tracing
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

TESTS = Path(__file__).parent.parent


def deal(deal_id: str) -> Envelope[DealWon]:
    return wrap(DealWon(deal_id=deal_id, client_id="co-1", won_at=datetime.now(UTC)), source="crm")


def created(client_id: str) -> Envelope[ClientCreated]:
    return wrap(
        ClientCreated(client_id=client_id, name="Acme", status=ClientStatus.PROSPECT, created_by="u-1"),
        source="clients",
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await create_tables(db)
    yield db
    await db.dispose()


@pytest.fixture
async def bus(database: Database, clean_nats: str) -> AsyncIterator[EventBus]:
    configure_tracing("probe", None)
    bus = probe_bus(database, clean_nats)
    await bus.start(publishes=[created("x").data.stream])
    yield bus
    await bus.stop()


async def stream_messages(nats_url: str, subject: str, expected: int, timeout: float = 5.0) -> list:
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        sub = await js.pull_subscribe(subject, durable=None)
        got: list = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            try:
                batch = await sub.fetch(expected - len(got), timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            for message in batch:
                await message.ack()
            got.extend(batch)
        # Anything beyond what was expected would be a duplicate publication.
        with contextlib.suppress(nats.errors.TimeoutError):
            got.extend(await sub.fetch(1, timeout=0.3))
        return got
    finally:
        await connection.close()


async def test_committed_events_are_published_with_their_id_as_msg_id(bus: EventBus, database: Database) -> None:
    kept, rolled_back = created("c-kept"), created("c-rolled-back")
    with trace.get_tracer("test").start_as_current_span("the request that made the client") as span:
        async with database.transaction() as session:
            await record_event(session, kept)
    request_trace = format(span.get_span_context().trace_id, "032x")

    async def failing_change() -> None:
        async with database.transaction() as session:
            await record_event(session, rolled_back)
            raise RuntimeError("the state change failed, so its event must not exist")

    with pytest.raises(RuntimeError):
        await failing_change()

    messages = await stream_messages(bus.nats_url, "clients.v1.client.created", expected=1)

    assert [m.headers["Nats-Msg-Id"] for m in messages] == [kept.id]
    assert b"c-rolled-back" not in messages[0].data
    # The event continues the trace of the request that committed it, across the relay and NATS.
    assert messages[0].headers["traceparent"].split("-")[1] == request_trace

    async def published() -> bool:
        async with database.sessions() as session:
            return (await session.scalar(select(func.count()).where(outbox.c.published_at.is_(None)))) == 0

    assert await wait_until(published, within=5)


async def test_a_redelivered_event_is_applied_once(bus: EventBus, database: Database) -> None:
    envelope = deal("d-1")
    # Two copies in the stream (a publisher retry after JetStream's duplicate window).
    await publish_envelopes(bus.nats_url, [envelope])
    connection = await nats.connect(bus.nats_url)
    await connection.jetstream().publish(envelope.data.subject, envelope.to_json(), stream="CRM")
    await connection.close()

    assert await wait_until(lambda: _consumer_settled(bus, "probe-deal-won", delivered=2), within=10)
    assert await applied_count(database, "d-1") == 1


async def test_a_failing_handler_commits_nothing_and_ends_as_a_dead_letter(bus: EventBus, database: Database) -> None:
    await publish_envelopes(bus.nats_url, [deal("poison")])

    async def captured() -> bool:
        return await _dead_letter_reasons(database) == ["max_deliveries"]

    assert await wait_until(captured, within=15)
    assert await applied_count(database, "poison") == 0  # each attempt rolled back


async def test_an_event_that_breaks_the_contract_is_dead_lettered_at_once(bus: EventBus, database: Database) -> None:
    connection = await nats.connect(bus.nats_url)
    await connection.jetstream().publish("crm.v1.deal.won", b'{"not": "an envelope"}', stream="CRM")
    await connection.close()
    await publish_envelopes(bus.nats_url, [deal("impossible")])

    async def captured() -> bool:
        return await _dead_letter_reasons(database) == ["terminated", "terminated"]

    assert await wait_until(captured, within=10)
    async with database.sessions() as session:
        payloads = (await session.scalars(select(dead_letters.c.payload).order_by(dead_letters.c.id))).all()
    assert payloads[0] == b'{"not": "an envelope"}'


async def _dead_letter_reasons(database: Database) -> list[str]:
    async with database.sessions() as session:
        return list((await session.scalars(select(dead_letters.c.reason).order_by(dead_letters.c.id))).all())


async def _consumer_settled(bus: EventBus, durable: str, *, delivered: int) -> bool:
    info = await bus.broker.connection.jetstream().consumer_info("CRM", durable)
    return info.delivered.stream_seq >= delivered and info.num_ack_pending == 0 and info.num_pending == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_consumer_killed_between_commit_and_ack_applies_the_event_exactly_once(
    database_url: str, clean_nats: str
) -> None:
    envelope = deal("d-crash")
    await publish_envelopes(clean_nats, [envelope])
    script = str(TESTS / "crashing_consumer.py")

    first = subprocess.run(
        [sys.executable, script, database_url, clean_nats, "--die-before-ack"], capture_output=True, timeout=60
    )
    assert first.returncode == 137, first.stderr.decode()[-2000:]

    database = Database(database_url)
    try:
        assert await applied_count(database, "d-crash") == 1  # committed, never acknowledged
        second = subprocess.run(
            [sys.executable, script, database_url, clean_nats, "--seconds", "4"], capture_output=True, timeout=60
        )
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        assert await applied_count(database, "d-crash") == 1
        assert b"duplicates=1" in second.stdout  # it came back, and the inbox recognised it

        connection = await nats.connect(clean_nats)
        info = await connection.jetstream().consumer_info("CRM", "probe-deal-won")
        await connection.close()
        assert info.num_ack_pending == 0 and info.num_pending == 0  # acknowledged at last
    finally:
        await database.dispose()


async def test_an_ordered_consumer_applies_events_in_stream_order(database: Database, clean_nats: str) -> None:
    seen: list[str] = []
    bus = EventBus(service="ordered", nats_url=clean_nats, database=database, pull_batch_size=32)

    @bus.consumer(DealWon, name="deals", ordered=True)
    async def record(envelope: Envelope, session) -> None:
        # Later messages finish sooner: concurrent handling would reorder them.
        await asyncio.sleep(0.02 if int(envelope.data.deal_id) % 2 == 0 else 0.0)
        seen.append(envelope.data.deal_id)

    await bus.start()
    try:
        await publish_envelopes(clean_nats, [deal(str(n)) for n in range(12)])
        assert await wait_until(_length_is(seen, 12), within=15)
    finally:
        await bus.stop()
    assert seen == [str(n) for n in range(12)]


def _length_is(items: list, size: int):
    async def check() -> bool:
        return len(items) >= size

    return check
