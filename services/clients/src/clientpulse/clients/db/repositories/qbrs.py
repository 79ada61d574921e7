"""Queries and writes of the logged QBRs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Qbr


class QbrRepository:
    """Logged QBRs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, qbr: Qbr) -> None:
        """Stage a new QBR."""
        self.session.add(qbr)

    async def get(self, client_id: str, qbr_id: str) -> Qbr | None:
        """One QBR of a client."""
        return await self.session.scalar(select(Qbr).where(Qbr.client_id == client_id, Qbr.id == qbr_id))

    async def latest_held_on(self, client_id: str) -> date | None:
        """The date of the client's most recent QBR."""
        return await self.session.scalar(select(func.max(Qbr.held_on)).where(Qbr.client_id == client_id))

    async def list(self, client_id: str, *, before_id: str | None, limit: int) -> Sequence[Qbr]:
        """A client's QBRs, most recently logged first."""
        query = select(Qbr).where(Qbr.client_id == client_id)
        if before_id:
            query = query.where(Qbr.id < before_id)
        return (await self.session.scalars(query.order_by(Qbr.id.desc()).limit(limit))).all()
