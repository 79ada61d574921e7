"""A local replica of who looks after each client, for object-level access without a remote call.

Services other than ``clients`` keep it from the ``clients.v1.client.*`` events (event-carried
state transfer). Each group of fields remembers the time of the event that set it, so an event
redelivered late never overwrites a newer fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, EventData
from clientpulse.shared.contracts.events import (
    ClientAssigned,
    ClientCreated,
    ClientGroupChanged,
    ClientStatusChanged,
    ClientUpdated,
)
from clientpulse.shared.db import UTCDateTime, new_metadata
from clientpulse.shared.errors import NotFound
from clientpulse.shared.identity import Identity
from clientpulse.shared.messaging import EventBus
from clientpulse.shared.messaging.broker import Handler
from clientpulse.shared.messaging.sql import insert_ignoring_conflicts

CLIENT_DIRECTORY_METADATA = new_metadata()

client_directory = Table(
    "client_directory",
    CLIENT_DIRECTORY_METADATA,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(300), nullable=True),
    Column("name_at", UTCDateTime, nullable=True),
    Column("status", String(20), nullable=True),
    Column("status_at", UTCDateTime, nullable=True),
    Column("dm_id", String(120), nullable=True),
    Column("squad_id", String(120), nullable=True),
    Column("assigned_at", UTCDateTime, nullable=True),
    Column("parent_id", String(64), nullable=True),
    Column("parent_at", UTCDateTime, nullable=True),
)

# Which columns each fact group owns, and the column holding the time it was last set.
_GROUPS: dict[str, tuple[str, ...]] = {
    "name_at": ("name",),
    "status_at": ("status",),
    "assigned_at": ("dm_id", "squad_id"),
    "parent_at": ("parent_id",),
}


@dataclass(frozen=True, slots=True)
class ClientEntry:
    """What a service knows locally about a client."""

    client_id: str
    name: str | None
    status: str | None
    dm_id: str | None
    squad_id: str | None
    parent_id: str | None


async def _apply(session: AsyncSession, client_id: str, at: datetime, facts: dict[str, dict[str, Any]]) -> None:
    """Set each fact group unless a newer event already set it."""
    await session.execute(insert_ignoring_conflicts(session, client_directory).values(client_id=client_id))
    # Locked until commit: two events of one client handled at once must not both compare against
    # the old row (the later commit would win even with the older fact).
    locked = select(client_directory).where(client_directory.c.client_id == client_id).with_for_update()
    row = (await session.execute(locked)).mappings().one()
    changes: dict[str, Any] = {}
    for stamp, values in facts.items():
        current = row[stamp]
        if current is None or current <= at:
            changes.update(values)
            changes[stamp] = at
    if changes:
        await session.execute(
            client_directory.update().where(client_directory.c.client_id == client_id).values(**changes)
        )


async def _client_created(envelope: Envelope[ClientCreated], session: AsyncSession) -> None:
    data = envelope.data
    facts: dict[str, dict[str, Any]] = {
        "name_at": {"name": data.name},
        "status_at": {"status": data.status.value},
        "assigned_at": {"dm_id": data.dm_id, "squad_id": data.squad_id},
        "parent_at": {"parent_id": data.parent_id},
    }
    await _apply(session, data.client_id, envelope.time, facts)


async def _client_updated(envelope: Envelope[ClientUpdated], session: AsyncSession) -> None:
    await _apply(session, envelope.data.client_id, envelope.time, {"name_at": {"name": envelope.data.name}})


async def _status_changed(envelope: Envelope[ClientStatusChanged], session: AsyncSession) -> None:
    facts = {"status_at": {"status": envelope.data.new_status.value}}
    await _apply(session, envelope.data.client_id, envelope.time, facts)


async def _client_assigned(envelope: Envelope[ClientAssigned], session: AsyncSession) -> None:
    facts = {"assigned_at": {"dm_id": envelope.data.dm_id, "squad_id": envelope.data.squad_id}}
    await _apply(session, envelope.data.client_id, envelope.time, facts)


async def _group_changed(envelope: Envelope[ClientGroupChanged], session: AsyncSession) -> None:
    await _apply(session, envelope.data.client_id, envelope.time, {"parent_at": {"parent_id": envelope.data.parent_id}})


# How each ``clients.v1.client.*`` event folds into the replica: one handler per type.
REPLICA_HANDLERS: dict[type[EventData], Handler] = {
    ClientCreated: _client_created,
    ClientUpdated: _client_updated,
    ClientStatusChanged: _status_changed,
    ClientAssigned: _client_assigned,
    ClientGroupChanged: _group_changed,
}


async def apply_client_event(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Fold one ``clients.v1.client.*`` event into the replica (a type without a handler is a KeyError)."""
    await REPLICA_HANDLERS[type(envelope.data)](envelope, session)


def register_client_directory(bus: EventBus) -> None:
    """Keep the replica from the clients stream with one durable consumer (order-tolerant: see ``_apply``)."""
    bus.typed_consumer(REPLICA_HANDLERS, name="client-directory", batched=True)


async def find_client(session: AsyncSession, client_id: str) -> ClientEntry | None:
    """The replica's entry for a client, if the service has heard of it."""
    row = (
        (await session.execute(select(client_directory).where(client_directory.c.client_id == client_id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return ClientEntry(
        client_id=row["client_id"],
        name=row["name"],
        status=row["status"],
        dm_id=row["dm_id"],
        squad_id=row["squad_id"],
        parent_id=row["parent_id"],
    )


async def visible_client(session: AsyncSession, identity: Identity, client_id: str) -> ClientEntry:
    """The client if the caller may see it; 404 otherwise (unknown and invisible look the same)."""
    entry = await find_client(session, client_id)
    if entry is None or not identity.can_access_client(dm_id=entry.dm_id, squad_id=entry.squad_id):
        raise NotFound(f"client {client_id} was not found")
    return entry
