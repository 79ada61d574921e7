"""Tables of the insights service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata

# A backfill names no connection: its results count for the client as one source of this id.
BACKFILL_SOURCE = "backfill"


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Analysis(Base):
    """One weekly analysis of a client: ``structured`` (``body`` is a ``WeeklyAnalysis``) or ``text`` (an older
    or imported analysis kept as free text in ``text``, with ``body`` empty and no health score)."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_client_week", "client_id", "week", unique=True),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(10))
    health_score: Mapped[int | None]
    status: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[dict[str, Any]]
    generated_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    format: Mapped[str] = mapped_column(String(20), default="structured", server_default="structured")
    text: Mapped[str | None] = mapped_column(Text)


class ResultSource(Base):
    """A client's connection that has delivered results (replicated from SyncCompleted and BackfillCompleted).

    Which clients the weekly analysis covers: Active ones with at least one source.
    """

    __tablename__ = "result_sources"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str | None] = mapped_column(String(40))
    last_synced_at: Mapped[datetime]


class Summary(Base):
    """One relationship summary of a client (``body`` is a ``RelationshipSummary``); the newest is served."""

    __tablename__ = "summaries"
    __table_args__ = (Index("ix_summaries_client_created", "client_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    generated_by: Mapped[str] = mapped_column(String(120))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SummaryRequest(Base):
    """A summary due for a client: the burst of significant events it waits out (one row per client)."""

    __tablename__ = "summary_requests"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_event_at: Mapped[datetime]
    last_event_at: Mapped[datetime]
    triggers: Mapped[list[Any]]


class Question(Base):
    """A question asked about a client's results, and what came of it."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_client_asked", "client_id", "asked_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    asked_by: Mapped[str] = mapped_column(String(120))
    asked_at: Mapped[datetime]
    question: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(Text)
    citations: Mapped[list[Any]]
    tool_calls: Mapped[list[Any]]
    detail: Mapped[str | None] = mapped_column(Text)
    generated_by: Mapped[str | None] = mapped_column(String(120))


class ModelSpending(Base):
    """Tokens a model's replies cost, per UTC day and client (the daily caps are checked against it)."""

    __tablename__ = "model_spending"

    day: Mapped[date] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[int]
