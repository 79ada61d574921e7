"""Database plumbing: async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), UTC time, the
naming convention, the unit of work and Alembic migrations per service.

Services and repositories never commit: the unit of work (a request, a message handler, a job)
commits once, outbox rows included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A service's metadata with the shared naming convention (stable constraint names for Alembic)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are normalised to UTC on
    the way in and tagged UTC on the way out. Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    """True when the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine for the URL: asyncpg for PostgreSQL, aiosqlite (WAL, foreign keys) for SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.get_driver_name() != "aiosqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        memory = parsed.database in (None, "", ":memory:")
        # A file database keeps a small pool of connections (opening one costs its PRAGMAs each time);
        # an in-memory one must be a single shared connection or each session sees an empty database.
        pooling: dict[str, Any] = {"poolclass": StaticPool} if memory else {"pool_size": 5, "max_overflow": 5}
        engine = create_async_engine(
            parsed, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}, **pooling
        )
        _sqlite_pragmas(engine)
        return engine
    return create_async_engine(parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlySession(Session):
    """The session of ``Database.reading()``: it refuses to write, since nothing it writes would commit."""

    def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise RuntimeError("a reading session does not write: use Database.transaction()")


def reading_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for ``Database.reading()``: on PostgreSQL each statement runs on its own (autocommit), so
    a read pays no ``BEGIN``/``COMMIT`` round trips; SQLite opens no transaction for a ``SELECT`` anyway,
    and switching its connection's mode would cost two trips to aiosqlite's thread per checkout."""
    bind = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, sync_session_class=ReadOnlySession)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], *, after_commit: Callable[[AsyncSession], None] | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction: commits when the block ends, rolls back when it raises."""
    async with sessions() as session:
        async with session.begin():
            yield session
        if after_commit is not None:
            after_commit(session)


_EVENTS_RECORDED_KEY = "clientpulse.events_recorded"


def note_events_recorded(session: AsyncSession) -> None:
    """Say that this unit of work wrote outbox rows: its commit wakes the relay (``on_events_committed``)."""
    session.info[_EVENTS_RECORDED_KEY] = True


UNIT_SCOPE_KEY = "clientpulse.unit_scope"


@dataclass(frozen=True, slots=True)
class UnitCallbacks:
    """What to run when one event's part of a batched unit of work commits or is undone."""

    committed: Callable[[], None] | None
    rolled_back: Callable[[], None] | None


@contextmanager
def unit_scope(session: AsyncSession) -> Iterator[list[UnitCallbacks]]:
    """Collect the ``when_unit_ends`` callbacks registered on ``session`` inside the block (one event's)."""
    collected: list[UnitCallbacks] = []
    session.info[UNIT_SCOPE_KEY] = collected
    try:
        yield collected
    finally:
        session.info.pop(UNIT_SCOPE_KEY, None)


def when_unit_ends(
    session: AsyncSession,
    *,
    committed: Callable[[], None] | None = None,
    rolled_back: Callable[[], None] | None = None,
) -> None:
    """Run ``committed`` when this session's transaction commits, or ``rolled_back`` when it rolls back.

    What metrics count: a unit of work's effect only once it is durable, a failed attempt (JetStream
    redelivers it) once it is undone. Whichever comes first ends it: a later transaction on the same
    session is not this one.

    Inside a batched consumer's transaction each event has a scope of its own (``unit_scope``): the
    callbacks wait there, and the consumer runs ``committed`` once the batch commits with that event's
    effect in it, or ``rolled_back`` when that event's savepoint (or the whole batch) is undone.
    """
    scope = session.info.get(UNIT_SCOPE_KEY)
    if scope is not None:
        scope.append(UnitCallbacks(committed, rolled_back))
        return
    settled = False

    def settle(action: Callable[[], None] | None) -> None:
        nonlocal settled
        if not settled:
            settled = True
            if action is not None:
                action()

    def on_commit(_session: Any) -> None:
        settle(committed)

    def on_rollback(_session: Any) -> None:
        settle(rolled_back)

    # Listeners cannot be removed while SQLAlchemy dispatches to them; the other one stays, inert.
    event.listen(session.sync_session, "after_commit", on_commit, once=True)
    event.listen(session.sync_session, "after_rollback", on_rollback, once=True)


class Database:
    """One service's database: engine, sessions and the unit of work.

    ``transaction()`` is the unit of work. Listeners registered with ``on_commit`` run after each
    successful commit; those registered with ``on_events_committed`` only after a commit that recorded
    events (the outbox relay: it publishes at once instead of at its next poll, and a read, which
    records none, costs it no pass over the outbox).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessions = session_factory(self.engine)
        self._reads = reading_factory(self.engine)
        self._commit_listeners: list[Callable[[], None]] = []
        self._event_listeners: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks (``FOR UPDATE SKIP LOCKED``) are available."""
        return self.dialect == "postgresql"

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every committed unit of work."""
        self._commit_listeners.append(listener)

    def on_events_committed(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every committed unit of work that recorded events."""
        self._event_listeners.append(listener)

    def _committed(self, session: AsyncSession) -> None:
        for listener in self._commit_listeners:
            listener()
        if session.info.pop(_EVENTS_RECORDED_KEY, False):
            for listener in self._event_listeners:
                listener()

    @asynccontextmanager
    async def transaction(self, *, notify: bool = True) -> AsyncIterator[AsyncSession]:
        """The unit of work: one transaction, committed when the block ends, rolled back on error.

        ``notify=False`` skips the commit listeners (the relay's own bookkeeping must not wake it).
        """
        after = self._committed if notify else None
        async with unit_of_work(self.sessions, after_commit=after) as session:
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads: no transaction is opened or committed, two round trips fewer on PostgreSQL.

        Each statement sees what was committed when it started. That is what a read gets in a transaction
        too, at the READ COMMITTED level the services run at on PostgreSQL (each statement takes its own
        snapshot), and on SQLite, which opens no transaction for a ``SELECT``. Whatever writes uses
        ``transaction()``: this session refuses to flush, and staged changes fail the block.
        """
        async with self._reads() as session:
            yield session
            await session.flush()  # writes nothing: ReadOnlySession.flush refuses what was staged

    async def ping(self) -> None:
        """Raise when the database does not answer."""
        from sqlalchemy import text

        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


# --- migrations ---------------------------------------------------------------------------------


def alembic_config(script_location: Path, url: str) -> Any:
    """An Alembic config for one service's migrations folder and database URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(script_location: Path, url: str) -> None:
    """Apply every pending migration (blocking; run it in a thread from async code)."""
    from alembic import command

    command.upgrade(alembic_config(script_location, url), "head")


async def migrate(script_location: Path, url: str) -> None:
    """Apply pending migrations without blocking the event loop."""
    await asyncio.to_thread(upgrade_to_head, script_location, url)


def run_migrations_from_env(target_metadata: MetaData | list[MetaData]) -> None:
    """The body of every service's ``migrations/env.py``: online migrations over an async engine."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    sqlite = is_sqlite(url)

    def do_run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def run_async() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run_async())
