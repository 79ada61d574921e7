"""``when_unit_ends``: what metrics count runs once, for the transaction it was registered in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from clientpulse.shared.db import Database, note_events_recorded, when_unit_ends


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}")
    yield db  # type: ignore[misc]
    await db.dispose()


async def test_a_commit_counts_once_and_a_later_rollback_on_the_same_session_is_not_its(database: Database) -> None:
    seen: list[str] = []
    async with database.sessions() as session:
        async with session.begin():
            when_unit_ends(
                session, committed=lambda: seen.append("committed"), rolled_back=lambda: seen.append("undone")
            )
            await session.execute(text("SELECT 1"))
        assert seen == ["committed"]
        with pytest.raises(RuntimeError):
            async with session.begin():
                raise RuntimeError("the next unit of work on the same session fails")
        async with session.begin():
            await session.execute(text("SELECT 1"))
    assert seen == ["committed"]


async def test_a_rollback_counts_the_failed_attempt_only(database: Database) -> None:
    seen: list[str] = []

    async def failing_handler() -> None:
        async with database.transaction() as session:
            when_unit_ends(
                session, committed=lambda: seen.append("committed"), rolled_back=lambda: seen.append("undone")
            )
            raise RuntimeError("the handler raised")

    with pytest.raises(RuntimeError):
        await failing_handler()
    assert seen == ["undone"]


async def test_only_a_commit_that_recorded_events_wakes_the_event_listeners(database: Database) -> None:
    commits: list[str] = []
    wakes: list[str] = []
    database.on_commit(lambda: commits.append("commit"))
    database.on_events_committed(lambda: wakes.append("wake"))
    async with database.transaction() as session:
        await session.execute(text("SELECT 1"))  # a read
    assert (commits, wakes) == (["commit"], [])
    async with database.transaction() as session:
        note_events_recorded(session)
    assert (commits, wakes) == (["commit"] * 2, ["wake"])

    async def rolled_back() -> None:
        async with database.transaction() as session:
            note_events_recorded(session)
            raise RuntimeError("rolled back: nothing to publish")

    with pytest.raises(RuntimeError):
        await rolled_back()
    async with database.transaction(notify=False) as session:
        note_events_recorded(session)
    assert (commits, wakes) == (["commit"] * 2, ["wake"])
