"""Recalculation runs (``recalculation_runs``): one per period."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts
from clientpulse.tiering.db.models import RecalculationRun


class RecalculationRepository:
    """Runs of the monthly recalculation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_period(self, values: dict[str, object]) -> bool:
        """Insert the run of a period unless one exists (across replicas too); True when this one is new."""
        statement = insert_ignoring_conflicts(self.session, RecalculationRun.__table__).values(**values)
        return affected_rows(await self.session.execute(statement)) == 1

    async def finish(self, run_id: str, counts: dict[str, object]) -> None:
        """Store the counts of a finished run."""
        await self.session.execute(update(RecalculationRun).where(RecalculationRun.id == run_id).values(**counts))

    async def by_period(self, period: str) -> RecalculationRun | None:
        """The run of a period, if any."""
        query = select(RecalculationRun).where(RecalculationRun.period == period)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def newest(self, *, limit: int, before_period: str | None = None) -> list[RecalculationRun]:
        """Runs, newest period first."""
        query = select(RecalculationRun)
        if before_period is not None:
            query = query.where(RecalculationRun.period < before_period)
        query = query.order_by(RecalculationRun.period.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())
