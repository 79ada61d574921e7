"""The ``connections`` table: a client's platform connections."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import Connection


class ConnectionRepository:
    """Platform connections."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_client(self, client_id: str) -> Sequence[Connection]:
        """A client's connections, oldest first."""
        query = (
            select(Connection).where(Connection.client_id == client_id).order_by(Connection.created_at, Connection.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, client_id: str, connection_id: str) -> Connection | None:
        """One of a client's connections."""
        query = select(Connection).where(Connection.client_id == client_id, Connection.id == connection_id)
        return (await self.session.scalars(query)).first()

    async def by_id(self, connection_id: str) -> Connection | None:
        """A connection by its id alone (workers)."""
        return await self.session.get(Connection, connection_id)

    async def find(self, client_id: str, platform: str, account_id: str) -> Connection | None:
        """The connection of a client to one platform account, if any."""
        query = select(Connection).where(
            Connection.client_id == client_id, Connection.platform == platform, Connection.account_id == account_id
        )
        return (await self.session.scalars(query)).first()

    async def add(self, connection: Connection) -> None:
        """Store a new connection."""
        self.session.add(connection)
        await self.session.flush()

    async def remove(self, connection: Connection) -> None:
        """Forget a connection (its stored results stay, as history)."""
        await self.session.delete(connection)
        await self.session.flush()

    async def all_syncable(self, platforms: Sequence[str]) -> Sequence[Connection]:
        """Every connection of the given platforms that is not waiting for a person to reconnect."""
        query = (
            select(Connection)
            .where(Connection.platform.in_(platforms), Connection.status != "expired")
            .order_by(Connection.client_id, Connection.id)
        )
        return (await self.session.scalars(query)).all()

    async def rotate_secrets(self, rotate: Callable[[str], str]) -> int:
        """Re-encrypt every connection's stored secret; returns how many."""
        count = 0
        for connection in (await self.session.scalars(select(Connection).where(Connection.secret.is_not(None)))).all():
            connection.secret = rotate(connection.secret or "")
            count += 1
        await self.session.flush()
        return count

    async def for_clients_platforms(self, client_id: str, platforms: Sequence[str]) -> Sequence[Connection]:
        """A client's connections to the given platforms."""
        query = (
            select(Connection)
            .where(Connection.client_id == client_id, Connection.platform.in_(platforms))
            .order_by(Connection.id)
        )
        return (await self.session.scalars(query)).all()
