"""Which clients have results, and from which connections (the ``result_sources`` table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, distinct, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Analysis, ResultSource
from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.messaging.sql import insert_ignoring_conflicts


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
