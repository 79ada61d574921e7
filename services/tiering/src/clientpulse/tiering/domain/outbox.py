"""Events the tiering service writes to the outbox, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import EventData, wrap
from clientpulse.shared.messaging import record_event

# The ``source`` of every event the tiering service emits.
SOURCE = "tiering"


async def emit(session: AsyncSession, data: EventData) -> None:
    """Write an event of the tiering service to the outbox; it leaves when the unit of work commits."""
    await record_event(session, wrap(data, source=SOURCE))
