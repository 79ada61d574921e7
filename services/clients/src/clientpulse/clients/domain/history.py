"""The history feed: every change a client goes through, written in the transaction of the change.

Local changes that publish an event share the event's id with their history entry; other services'
events are folded in under their own event id, so a redelivery (already stopped by the inbox) could
not add a second line either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import HistoryEntry
from clientpulse.clients.db.repositories.history import HistoryRepository
from clientpulse.shared.contracts import EventData, new_event_id, wrap
from clientpulse.shared.db import utcnow
from clientpulse.shared.messaging import record_event

SOURCE = "clients"
# Details that name another client (a group's member or parent): who may read them depends on the caller.
CLIENT_REFERENCES = ("member_id", "parent_id", "previous_parent_id")
GROUP_MEMBER_KINDS = ("GroupMemberAdded", "GroupMemberRemoved")


def add_entry(
    session: AsyncSession,
    *,
    client_id: str,
    kind: str,
    line: str,
    actor: str | None,
    source: str = SOURCE,
    occurred_at: datetime | None = None,
    entry_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> HistoryEntry:
    """Stage one history entry."""
    entry = HistoryEntry(
        id=entry_id or new_event_id(),
        client_id=client_id,
        occurred_at=occurred_at or utcnow(),
        kind=kind,
        actor=actor,
        source=source,
        line=line,
        details=details or {},
    )
    HistoryRepository(session).add(entry)
    return entry


async def emit(
    session: AsyncSession,
    data: EventData,
    *,
    line: str | None,
    actor: str | None,
    event_id: str | None = None,
) -> None:
    """Record an event in the outbox and, when ``line`` is given, its history entry under the same id."""
    envelope = wrap(data, source=SOURCE, event_id=event_id)
    await record_event(session, envelope)
    client_id = data.client_subject()
    if line is not None and client_id is not None:
        add_entry(
            session,
            client_id=client_id,
            kind=data.event_type,
            line=line,
            actor=actor,
            occurred_at=envelope.time,
            entry_id=envelope.id,
            details=data.model_dump(mode="json"),
        )


def referenced_clients(kind: str, line: str, details: dict[str, Any]) -> set[str]:
    """The other clients an entry names."""
    named = {str(details[key]) for key in CLIENT_REFERENCES if details.get(key)}
    if kind in GROUP_MEMBER_KINDS and "member_id" not in details:
        # Written before the member was kept in the details: the line starts with its id.
        named.add(line.split(" ", 1)[0])
    return named


def redacted(kind: str, line: str, details: dict[str, Any], hidden: set[str]) -> tuple[str, dict[str, Any]]:
    """An entry as a caller who may not see ``hidden`` clients reads it: they are "another client", unnamed.

    A group may span squads; its history must not tell a Manager that another squad's client exists
    (docs/access.md).
    """
    named = referenced_clients(kind, line, details) & hidden
    if not named:
        return line, details
    for client_id in named:
        line = line.replace(client_id, "another client")
    return line, {key: None if str(value) in named else value for key, value in details.items()}
