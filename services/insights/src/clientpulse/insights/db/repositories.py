"""Repositories of the insights service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Analysis, ResultSource
from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.contracts.events import ClientStatus
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


class ResultSourceRepository:
    """Which clients have results, and from which connections."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, client_id: str, connection_id: str, platform: str | None, at: datetime) -> None:
        """Note that a connection delivered results at ``at`` (a late, older event never moves the time back)."""
        await self.session.execute(
            insert_ignoring_conflicts(self.session, ResultSource.__table__).values(
                client_id=client_id, connection_id=connection_id, platform=platform, last_synced_at=at
            )
        )
        await self.session.execute(
            update(ResultSource)
            .where(
                ResultSource.client_id == client_id,
                ResultSource.connection_id == connection_id,
                ResultSource.last_synced_at < at,
            )
            .values(last_synced_at=at, platform=func.coalesce(platform, ResultSource.platform))
        )

    async def of_client(self, client_id: str) -> list[ResultSource]:
        """A client's sources."""
        query = select(ResultSource).where(ResultSource.client_id == client_id).order_by(ResultSource.connection_id)
        return list(await self.session.scalars(query))

    async def clients_to_analyse(self, week: str) -> list[str]:
        """Active clients with results whose week has no analysis yet, in id order."""
        analysed = exists().where(and_(Analysis.client_id == ResultSource.client_id, Analysis.week == week))
        query = (
            select(ResultSource.client_id)
            .distinct()
            .join(client_directory, client_directory.c.client_id == ResultSource.client_id)
            .where(client_directory.c.status == ClientStatus.ACTIVE.value, ~analysed)
            .order_by(ResultSource.client_id)
        )
        return list(await self.session.scalars(query))

    async def count_active_with_results(self) -> int:
        """Active clients with at least one source."""
        query = (
            select(func.count(distinct(ResultSource.client_id)))
            .join(client_directory, client_directory.c.client_id == ResultSource.client_id)
            .where(client_directory.c.status == ClientStatus.ACTIVE.value)
        )
        return int(await self.session.scalar(query) or 0)
