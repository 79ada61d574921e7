"""A minimal service for backbone tests: one consumer whose effect is *not* naturally idempotent
(it appends a row per application), so only the inbox stands between a redelivery and a double effect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, Stream
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import Database, new_metadata
from clientpulse.shared.messaging import MESSAGING_METADATA, EventBus, PermanentFailure

PROBE_METADATA = new_metadata()
applied = Table(
    "applied",
    PROBE_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("deal_id", String(120), nullable=False),
)


async def create_tables(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(MESSAGING_METADATA.create_all)
        await connection.run_sync(PROBE_METADATA.create_all)


async def applied_count(database: Database, deal_id: str | None = None) -> int:
    async with database.sessions() as session:
        query = select(func.count()).select_from(applied)
        if deal_id is not None:
            query = query.where(applied.c.deal_id == deal_id)
        return int(await session.scalar(query) or 0)


def probe_bus(database: Database, nats_url: str, *, batched: bool = False, **options: Any) -> EventBus:
    """An EventBus with one DealWon consumer that appends a row; deals named 'poison' always fail,
    deals named 'impossible' are permanent failures."""
    options.setdefault("backoff", [0.1, 0.2])
    options.setdefault("max_deliver", 3)
    options.setdefault("ack_wait", 2.0)
    bus = EventBus(service="probe", nats_url=nats_url, database=database, **options)

    @bus.consumer(DealWon, name="deal-won", batched=batched)
    async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
        deal: DealWon = envelope.data
        if deal.deal_id == "impossible":
            raise PermanentFailure("this deal can never be applied")
        await session.execute(applied.insert().values(event_id=envelope.id, deal_id=deal.deal_id))
        if deal.deal_id == "poison":
            raise RuntimeError("the handler fails every time")

    return bus


PUBLISHES = [Stream.CLIENTS]
