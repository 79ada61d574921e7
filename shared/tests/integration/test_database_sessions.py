"""``Database``: reads without a transaction; a pooled connection the server closed is not handed out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Integer, MetaData, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import Database


class _Base(DeclarativeBase):
    metadata = MetaData()


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=1)
    async with db.engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
    yield db
    await db.dispose()


TRANSACTION_ID = text("SELECT txid_current()")


async def _one_transaction(session: AsyncSession) -> bool:
    """Whether two statements of the session ran in the same transaction."""
    return await session.scalar(TRANSACTION_ID) == await session.scalar(TRANSACTION_ID)


async def test_a_read_sees_what_was_committed_and_opens_no_transaction(database: Database) -> None:
    async with database.transaction() as session:
        session.add(_Row(id=1, name="first"))
    async with database.reading() as session:
        assert (await session.scalars(select(_Row.name))).all() == ["first"]
        if database.is_postgres:
            assert not await _one_transaction(session)
    if database.is_postgres:
        async with database.transaction() as session:
            assert await _one_transaction(session)


async def test_a_reading_session_refuses_to_write(database: Database) -> None:
    async def flushing() -> None:
        async with database.reading() as session:
            session.add(_Row(id=2, name="flushed"))
            await session.flush()

    async def staging() -> None:
        async with database.reading() as session:
            session.add(_Row(id=3, name="staged"))

    with pytest.raises(RuntimeError, match="does not write"):
        await flushing()
    with pytest.raises(RuntimeError, match="does not write"):
        await staging()
    async with database.reading() as session:
        assert (await session.scalars(select(_Row.id))).all() == []


async def test_a_pooled_connection_the_server_closed_is_replaced_on_checkout(
    postgres_url: str,
) -> None:
    database = Database(postgres_url, pool_size=1)
    try:
        async with database.reading() as session:
            first_backend = await session.scalar(text("SELECT pg_backend_pid()"))
        # Another connection ends the pooled one's backend, as a server restart or fail-over would.
        admin = Database(postgres_url, pool_size=1)
        try:
            async with admin.reading() as session:
                assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_backend})
        finally:
            await admin.dispose()
        await asyncio.sleep(0.2)  # the backend is gone before the next checkout
        for unit in (database.reading, database.transaction):
            async with unit() as session:
                backend = await session.scalar(text("SELECT pg_backend_pid()"))
            assert backend != first_backend
    finally:
        await database.dispose()
