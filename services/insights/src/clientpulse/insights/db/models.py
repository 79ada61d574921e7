"""Tables of the insights service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata

# A backfill names no connection: its results count for the client as one source of this id.
BACKFILL_SOURCE = "backfill"


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Analysis(Base):
    """One weekly structured analysis of a client (``body`` is a ``WeeklyAnalysis``)."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_client_week", "client_id", "week", unique=True),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(10))
    health_score: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[dict[str, Any]]
    generated_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class ResultSource(Base):
    """A client's connection that has delivered results (replicated from SyncCompleted and BackfillCompleted).

    Which clients the weekly analysis covers: Active ones with at least one source.
    """

    __tablename__ = "result_sources"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str | None] = mapped_column(String(40))
    last_synced_at: Mapped[datetime]
