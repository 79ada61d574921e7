"""The clients migrations on PostgreSQL and SQLite: a client that was Active before profiles had QBR
schedules gets its first due date from the time it became Active."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import text

from clientpulse.clients.app import MIGRATIONS
from clientpulse.shared.db import Database, alembic_config

pytestmark = pytest.mark.integration


async def _run(url: str, statement: str, **values: object) -> list:
    database = Database(url)
    try:
        async with database.transaction() as session:
            result = await session.execute(text(statement), values)
            return list(result.all()) if result.returns_rows else []
    finally:
        await database.dispose()


def test_active_clients_get_a_qbr_schedule_when_upgrading(database_url: str) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    command.upgrade(config, "0001")
    changed = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for company, status in (("c-active", "Active"), ("c-prospect", "Prospect")):
        insert_company = (
            "INSERT INTO companies (id, name, name_key, created_at, updated_at) VALUES (:id, :id, :id, :at, :at)"
        )
        insert_client = (
            "INSERT INTO clients (id, status, created_at, created_by, status_changed_at) "
            "VALUES (:id, :status, :at, 'u', :at)"
        )
        asyncio.run(_run(database_url, insert_company, id=company, at=changed))
        asyncio.run(_run(database_url, insert_client, id=company, status=status, at=changed))
    command.upgrade(config, "head")
    rows = asyncio.run(_run(database_url, "SELECT id, active_since, qbr_due_on FROM clients ORDER BY id"))
    as_dates = [(row[0], row[1] and date.fromisoformat(str(row[1])), row[2] and date.fromisoformat(str(row[2])))
                for row in rows]  # fmt: skip
    assert as_dates == [("c-active", date(2026, 3, 10), date(2027, 3, 10)), ("c-prospect", None, None)]
    command.downgrade(config, "0001")  # and back, so the revision is reversible
