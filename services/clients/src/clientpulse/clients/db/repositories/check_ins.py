"""Queries and writes of the logged check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import CheckIn


class CheckInRepository:
    """Logged monthly check-ins."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, check_in: CheckIn) -> None:
        """Stage a new check-in."""
        self.session.add(check_in)

    async def latest_held_on(self, client_id: str) -> date | None:
        """The date of the client's most recent check-in."""
        return await self.session.scalar(select(func.max(CheckIn.held_on)).where(CheckIn.client_id == client_id))

    async def list(self, client_id: str, *, before_id: str | None, limit: int) -> Sequence[CheckIn]:
        """A client's check-ins, most recently logged first."""
        query = select(CheckIn).where(CheckIn.client_id == client_id)
        if before_id:
            query = query.where(CheckIn.id < before_id)
        return (await self.session.scalars(query.order_by(CheckIn.id.desc()).limit(limit))).all()
