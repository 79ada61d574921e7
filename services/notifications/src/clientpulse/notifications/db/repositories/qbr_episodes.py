"""Overdue-QBR episodes waiting for their escalation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.models import (
    LatestQbr,
    QbrEpisode,
)
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts


class QbrEpisodeRepository:
    """Overdue-QBR episodes waiting for their escalation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, object]) -> bool:
        """Record an episode unless one with the same client and due date exists; True when inserted."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, QbrEpisode.__table__).values(**values)
        )
        return affected_rows(result) == 1

    async def record_qbr_held(self, client_id: str, held_on: date) -> None:
        """Remember the client's latest QBR (kept as the maximum whatever order the events arrive in)."""
        await self.session.execute(
            insert_ignoring_conflicts(self.session, LatestQbr.__table__).values(client_id=client_id, held_on=held_on)
        )
        await self.session.execute(
            update(LatestQbr)
            .where(LatestQbr.client_id == client_id, LatestQbr.held_on < held_on)
            .values(held_on=held_on)
        )

    async def latest_qbr(self, client_id: str) -> date | None:
        """When the client last held a QBR, as far as this service heard."""
        return await self.session.scalar(select(LatestQbr.held_on).where(LatestQbr.client_id == client_id))

    async def claim_due(self, today: date, *, limit: int, lock: bool) -> Sequence[QbrEpisode]:
        """Open episodes whose escalation date has come (locked against other runs on PostgreSQL)."""
        query = (
            select(QbrEpisode)
            .where(QbrEpisode.escalate_on <= today, QbrEpisode.escalated_at.is_(None), QbrEpisode.resolved_at.is_(None))
            .order_by(QbrEpisode.escalate_on, QbrEpisode.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()
