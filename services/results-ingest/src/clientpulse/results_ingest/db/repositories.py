"""Repositories of the results-ingest service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import Connection


class ConnectionRepository:
    """Platform connections."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_client(self, client_id: str) -> Sequence[Connection]:
        """A client's connections, oldest first."""
        query = select(Connection).where(Connection.client_id == client_id).order_by(Connection.id)
        return (await self.session.scalars(query)).all()
