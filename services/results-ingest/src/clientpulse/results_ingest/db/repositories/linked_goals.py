"""The ``linked_goals`` table: goals replicated from the clients service, to judge them on results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import LinkedGoal
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert


class LinkedGoalRepository:
    """Goals replicated from the clients service."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, goal_id: str) -> LinkedGoal | None:
        """One goal by id."""
        return await self.session.get(LinkedGoal, goal_id)

    async def insert_if_new(self, goal_id: str, facts: dict[str, Any]) -> bool:
        """Insert a goal heard of for the first time; False when it is already known (concurrent
        deliveries of one goal's events meet here, not in a unique-key error)."""
        statement = dialect_insert(self.session, LinkedGoal).values(goal_id=goal_id, **facts).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def open_for(self, client_id: str) -> Sequence[LinkedGoal]:
        """A client's open goals that follow a metric."""
        query = (
            select(LinkedGoal)
            .where(LinkedGoal.client_id == client_id, LinkedGoal.metric.is_not(None), LinkedGoal.closed.is_(False))
            .order_by(LinkedGoal.goal_id)
        )
        return (await self.session.scalars(query)).all()
