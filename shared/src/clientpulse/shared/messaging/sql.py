"""Dialect-aware SQL helpers shared by the backbone's tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import FromClause


def insert_ignoring_conflicts(session: AsyncSession, table: FromClause) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()  # type: ignore[arg-type]


def affected_rows(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)
