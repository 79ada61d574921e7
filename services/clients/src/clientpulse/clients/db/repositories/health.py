"""Queries and writes of the recorded health scores."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import HealthScore


class HealthRepository:
    """Recorded health scores."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, score: HealthScore) -> None:
        """Stage a new score."""
        self.session.add(score)

    async def list(self, client_id: str, *, before_id: str | None, limit: int) -> Sequence[HealthScore]:
        """A client's scores, newest first."""
        query = select(HealthScore).where(HealthScore.client_id == client_id)
        if before_id:
            query = query.where(HealthScore.id < before_id)
        return (await self.session.scalars(query.order_by(HealthScore.id.desc()).limit(limit))).all()
