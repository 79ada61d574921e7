"""Queries and writes of client goals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Goal


class GoalRepository:
    """Client goals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, goal: Goal) -> None:
        """Stage a new goal."""
        self.session.add(goal)

    async def get(self, client_id: str, goal_id: str) -> Goal | None:
        """One goal of a client."""
        return await self.session.scalar(select(Goal).where(Goal.client_id == client_id, Goal.id == goal_id))

    async def list(self, client_id: str, *, after_id: str | None, limit: int) -> Sequence[Goal]:
        """A client's goals in creation order."""
        query = select(Goal).where(Goal.client_id == client_id)
        if after_id:
            query = query.where(Goal.id > after_id)
        return (await self.session.scalars(query.order_by(Goal.id).limit(limit))).all()

    async def several(self, client_id: str, goal_ids: Sequence[str]) -> Sequence[Goal]:
        """Goals of a client by id, their rows locked until the unit of work ends (measurements of one
        goal handled at once must not both read the old row)."""
        query = select(Goal).where(Goal.client_id == client_id, Goal.id.in_(goal_ids)).order_by(Goal.id)
        return (await self.session.scalars(query.with_for_update())).all()
