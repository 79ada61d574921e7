"""Dialect-aware SQL helpers shared by the backbone's tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring_conflicts(session: AsyncSession, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()
