"""The weekly analyses (the ``analyses`` table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Analysis
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts


class AnalysisRepository:
    """Weekly analyses."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, client_id: str) -> Analysis | None:
        """The newest analysis of a client."""
        query = select(Analysis).where(Analysis.client_id == client_id).order_by(Analysis.week.desc()).limit(1)
        return await self.session.scalar(query)

    async def of_week(self, client_id: str, week: str) -> Analysis | None:
        """A client's analysis of one ISO week."""
        query = select(Analysis).where(Analysis.client_id == client_id, Analysis.week == week)
        return await self.session.scalar(query)

    async def exists(self, client_id: str, week: str) -> bool:
        """True when the client's week has been analysed."""
        query = select(Analysis.id).where(Analysis.client_id == client_id, Analysis.week == week).limit(1)
        return await self.session.scalar(query) is not None

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Insert an analysis unless the client's week has one already (the unique index decides)."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, Analysis.__table__).values(**values)
        )
        return affected_rows(result) == 1
