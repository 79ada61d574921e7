"""The INSERT construct of the session's dialect (PostgreSQL, or SQLite when embedded), for upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT of ``table`` that knows ``on_conflict_do_update`` / ``on_conflict_do_nothing`` here."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table)
