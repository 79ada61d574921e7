"""The inbox: which events a consumer has already applied.

``claim`` runs in the consumer's unit of work, before its effect. The row and the effect commit
together, so a redelivered event (after a crash between commit and ack, a NATS restart or a
publisher retry) finds its id claimed and is acknowledged without being applied twice.
"""

from __future__ import annotations

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
