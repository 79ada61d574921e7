"""Tokens spent on the model per UTC day and client (the ``model_spending`` table), and the daily caps."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import ModelSpending
from clientpulse.shared.db import Database, utcnow
from clientpulse.shared.messaging.sql import insert_ignoring_conflicts


class ModelSpendingRepository:
    """Tokens per day and client."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, day: date, client_id: str, tokens: int) -> None:
        """Add tokens to a client's day (the row is created on the first spend)."""
        await self.session.execute(
            insert_ignoring_conflicts(self.session, ModelSpending.__table__).values(
                day=day, client_id=client_id, tokens=0
            )
        )
        await self.session.execute(
            update(ModelSpending)
            .where(ModelSpending.day == day, ModelSpending.client_id == client_id)
            .values(tokens=ModelSpending.tokens + tokens)
        )

    async def of_client(self, day: date, client_id: str) -> int:
        """A client's tokens of a day."""
        query = select(ModelSpending.tokens).where(ModelSpending.day == day, ModelSpending.client_id == client_id)
        return int(await self.session.scalar(query) or 0)

    async def total(self, day: date) -> int:
        """Every client's tokens of a day."""
        return int(
            await self.session.scalar(select(func.sum(ModelSpending.tokens)).where(ModelSpending.day == day)) or 0
        )


class DailyTokenCaps:
    """The spending ledger of ``ChatModel``: each spend in its own transaction, so a rolled-back unit of work
    (a redelivered analysis) still counts what the model cost. A cap of 0 turns that cap off."""

    def __init__(self, database: Database, *, per_client: int, total: int) -> None:
        self.database = database
        self.per_client = per_client
        self.total = total

    async def over_cap(self, client_id: str) -> str | None:
        """``client`` or ``total`` when that cap of today (UTC) is reached."""
        today = utcnow().date()
        async with self.database.transaction(notify=False) as session:
            spending = ModelSpendingRepository(session)
            if self.per_client and await spending.of_client(today, client_id) >= self.per_client:
                return "client"
            if self.total and await spending.total(today) >= self.total:
                return "total"
        return None

    async def spend(self, client_id: str, tokens: int) -> None:
        """Add a reply's tokens to the client's day."""
        if tokens <= 0:
            return
        async with self.database.transaction(notify=False) as session:
            await ModelSpendingRepository(session).add(utcnow().date(), client_id, tokens)
