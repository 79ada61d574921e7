"""The recalculation metrics without servers (SQLite): a rolled-back attempt counts as failed, and with no
run on record the time of the last completed run stays 0."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import forget_last_completed, runs, sample

from clientpulse.shared.db import Database, migrate
from clientpulse.tiering import metrics
from clientpulse.tiering.app import MIGRATIONS


async def test_a_rolled_back_attempt_counts_as_failed_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tiering.db'}"
    await migrate(MIGRATIONS, url)
    database = Database(url)
    before = {outcome: runs(outcome) for outcome in metrics.RUN_OUTCOMES}

    async def attempt(*, fails: bool) -> None:
        async with database.transaction() as session:
            metrics.RunObservation(session).finished(None)
            if fails:
                raise RuntimeError("the database went away mid-run")

    try:
        with pytest.raises(RuntimeError):
            await attempt(fails=True)
        await attempt(fails=False)
    finally:
        await database.dispose()
    assert {outcome: runs(outcome) - before[outcome] for outcome in metrics.RUN_OUTCOMES} == {
        "completed": 0,
        "already_run": 1,
        "failed": 1,
    }


async def test_no_run_on_record_leaves_the_gauge_at_zero(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tiering.db'}"
    await migrate(MIGRATIONS, url)
    database = Database(url)
    forget_last_completed()
    try:
        await metrics.load_last_completed(database)
    finally:
        await database.dispose()
    assert sample("clientpulse_recalculation_last_completed_timestamp_seconds") == 0
