"""Repositories of the insights service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Analysis


class AnalysisRepository:
    """Weekly analyses."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, client_id: str) -> Analysis | None:
        """The newest analysis of a client."""
        query = select(Analysis).where(Analysis.client_id == client_id).order_by(Analysis.week.desc()).limit(1)
        return await self.session.scalar(query)
