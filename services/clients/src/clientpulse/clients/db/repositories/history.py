"""Queries and writes of the history feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import HistoryEntry


class HistoryRepository:
    """The history feed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: HistoryEntry) -> None:
        """Stage an entry."""
        self.session.add(entry)

    async def list(
        self,
        client_id: str,
        *,
        kinds: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[HistoryEntry]:
        """A client's entries, newest first."""
        query = select(HistoryEntry).where(HistoryEntry.client_id == client_id)
        if kinds:
            query = query.where(HistoryEntry.kind.in_(kinds))
        if since:
            query = query.where(HistoryEntry.occurred_at >= since)
        if until:
            query = query.where(HistoryEntry.occurred_at < until)
        if before:
            at, last_id = before
            query = query.where(
                or_(HistoryEntry.occurred_at < at, and_(HistoryEntry.occurred_at == at, HistoryEntry.id < last_id))
            )
        query = query.order_by(HistoryEntry.occurred_at.desc(), HistoryEntry.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()
