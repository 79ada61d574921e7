"""The inbox: which events a consumer has already applied.

``claim`` runs in the consumer's unit of work, before its effect. The row and the effect commit
together, so a redelivered event (after a crash between commit and ack, a NATS restart or a
publisher retry) finds its id claimed and is acknowledged without being applied twice.

A batched consumer claims a whole batch with ``claim_batch`` (one statement) and ``release``s the
claims of the events whose handler failed, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.db import utcnow
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts
from clientpulse.shared.messaging.tables import inbox


async def claim(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record that ``consumer`` applies ``event_id``; False when it already had."""
    statement = insert_ignoring_conflicts(session, inbox).values(
        consumer=consumer, event_id=event_id, handled_at=utcnow()
    )
    result = await session.execute(statement)
    return affected_rows(result) == 1


async def claim_batch(session: AsyncSession, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """Record that ``consumer`` applies each of ``event_ids``, in one statement; the ids it had not before."""
    if not event_ids:
        return set()
    now = utcnow()
    rows = [{"consumer": consumer, "event_id": event_id, "handled_at": now} for event_id in dict.fromkeys(event_ids)]
    # Parameters as a list: one cached statement, sent as multi-row INSERTs by SQLAlchemy ("insertmanyvalues").
    statement = insert_ignoring_conflicts(session, inbox).returning(inbox.c.event_id)
    return set((await session.execute(statement, rows)).scalars())


async def release(session: AsyncSession, consumer: str, event_ids: Sequence[str]) -> None:
    """Undo claims of this unit of work whose events were not applied (they come back to be tried again)."""
    if event_ids:
        await session.execute(delete(inbox).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(event_ids)))
