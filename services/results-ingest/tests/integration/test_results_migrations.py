"""The results-ingest migrations on PostgreSQL and SQLite: an existing connection survives the upgrade,
the one-active-backfill index holds, and the revision is reversible."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.shared.db import Database, alembic_config

pytestmark = pytest.mark.integration

BACKFILL = (
    "INSERT INTO backfills (id, client_id, days, status, window_start, window_end, slices_total, slices_done, "
    "rows_written, requested_by, created_at) VALUES (:id, 'c-1', 30, :status, '2026-01-01', '2026-01-30', 0, 0, 0, "
    "'u', '2026-02-01 00:00:00+00')"
)


async def _run(url: str, statement: str, **values: object) -> list:
    database = Database(url)
    try:
        async with database.transaction() as session:
            result = await session.execute(text(statement), values)
            return list(result.all()) if result.returns_rows else []
    finally:
        await database.dispose()


def test_upgrade_keeps_connections_and_allows_one_active_backfill(database_url: str) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    command.upgrade(config, "0001")
    asyncio.run(_run(database_url, (
        "INSERT INTO connections (id, client_id, platform, account_id, status, created_at, created_by) "
        "VALUES ('k-1', 'c-1', 'meta_ads', '1', 'connected', '2026-01-01 00:00:00+00', 'u')")))  # fmt: skip
    command.upgrade(config, "head")
    assert asyncio.run(_run(database_url, "SELECT id, auth_kind FROM connections")) == [("k-1", "api_key")]
    asyncio.run(_run(database_url, BACKFILL, id="b-done", status="completed"))
    asyncio.run(_run(database_url, BACKFILL, id="b-run", status="running"))
    with pytest.raises(IntegrityError):
        asyncio.run(_run(database_url, BACKFILL, id="b-two", status="queued"))
    asyncio.run(_run(database_url, BACKFILL, id="b-old", status="failed"))
    command.downgrade(config, "0001")
