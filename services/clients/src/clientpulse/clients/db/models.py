"""Tables of the clients service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class Company(Base):
    """A company record of the agency; the client layer sits on it."""

    __tablename__ = "companies"
    __table_args__ = (Index("ix_companies_lower_domain", func.lower("domain")),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True, doc="lower-cased name for search")
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Client(Base):
    """A company's client profile; its id is the company's id."""

    __tablename__ = "clients"
    __table_args__ = (
        # The list's common filters lead with status; the id keeps keyset pagination on the index.
        Index("ix_clients_status_tier_band_id", "status", "tier", "health_band", "id"),
        Index("ix_clients_status_qbr_due_on", "status", "qbr_due_on"),
        Index("ix_clients_status_check_in_due_on", "status", "check_in_due_on"),
    )

    id: Mapped[str] = mapped_column(String(64), ForeignKey("companies.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    dm_id: Mapped[str | None] = mapped_column(String(120), index=True)
    squad_id: Mapped[str | None] = mapped_column(String(120), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("clients.id"), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    status_changed_at: Mapped[datetime]
    status_changed_by: Mapped[str | None] = mapped_column(String(120))
    status_reason: Mapped[str | None] = mapped_column(Text)
    active_since: Mapped[date | None] = mapped_column(doc="when the client last became Active")
    # Replicated from tiering's events; each *_at is the time of the event that set it.
    tier: Mapped[str | None] = mapped_column(String(20))
    tier_at: Mapped[datetime | None]
    tier_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    ratings_recorded_at: Mapped[datetime | None]
    score_at: Mapped[datetime | None]
    review_action_due_on: Mapped[date | None]
    health_score: Mapped[int | None]
    health_band: Mapped[str | None] = mapped_column(String(10))
    last_qbr_on: Mapped[date | None]
    qbr_due_on: Mapped[date | None]
    qbr_overdue_reported_for: Mapped[date | None] = mapped_column(
        doc="the due date whose overdue episode was already announced with QbrOverdue"
    )
    # Platinum service: monthly check-ins (docs/domain-rules.md, "Tier service approach").
    platinum_since: Mapped[date | None] = mapped_column(doc="when the client last became Platinum")
    last_check_in_on: Mapped[date | None]
    check_in_due_on: Mapped[date | None]
    check_in_due_reported_for: Mapped[date | None] = mapped_column(doc="the due date already announced with CheckInDue")
    check_in_overdue_reported_for: Mapped[date | None] = mapped_column(
        doc="the due date whose overdue episode was already announced with CheckInOverdue"
    )
    # The last decision that closed a Review client's 30-day action.
    review_decision: Mapped[str | None] = mapped_column(String(20))
    review_decision_reason: Mapped[str | None] = mapped_column(Text)
    review_decided_at: Mapped[datetime | None]
    review_decided_by: Mapped[str | None] = mapped_column(String(120))


class HealthScore(Base):
    """One recorded health score."""

    __tablename__ = "health_scores"
    __table_args__ = (Index("ix_health_scores_client_recorded", "client_id", "recorded_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    score: Mapped[int]
    band: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime]


class Qbr(Base):
    """A quarterly business review that was held."""

    __tablename__ = "qbrs"
    __table_args__ = (Index("ix_qbrs_client_held", "client_id", "held_on"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    held_on: Mapped[date]
    internal_attendees: Mapped[list[str]] = mapped_column(JSON)
    client_attendees: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    outcomes: Mapped[list[str]] = mapped_column(JSON)
    logged_by: Mapped[str] = mapped_column(String(120))
    logged_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CheckIn(Base):
    """A monthly check-in held with a client."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_client_held", "client_id", "held_on"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    held_on: Mapped[date]
    held_by: Mapped[str] = mapped_column(String(120), doc="who held it")
    notes: Mapped[str] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(120))
    logged_at: Mapped[datetime]


class Goal(Base):
    """A target a client works towards over a period."""

    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_client_metric", "client_id", "metric"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    target: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    current: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    unit: Mapped[str | None] = mapped_column(String(40))
    period_start: Mapped[date]
    period_end: Mapped[date]
    metric: Mapped[str | None] = mapped_column(String(80), doc="results metric that updates current")
    current_at: Mapped[datetime | None] = mapped_column(doc="time of the sync that last set current")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(120))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Note(Base):
    """A markdown note on a client; a reply names its parent note. Deleting only marks it."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_client_id", "client_id", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    parent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("notes.id"))
    author_id: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(120))


class NoteRevision(Base):
    """The text a note had before an edit."""

    __tablename__ = "note_revisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    note_id: Mapped[str] = mapped_column(String(64), ForeignKey("notes.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    replaced_by: Mapped[str] = mapped_column(String(120))
    replaced_at: Mapped[datetime]


class HistoryEntry(Base):
    """One line of a client's audit trail: a local change or another service's event about it."""

    __tablename__ = "history_entries"
    __table_args__ = (Index("ix_history_entries_client_occurred", "client_id", "occurred_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="the event id when an event stands behind it")
    client_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(40))
    line: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConversionPrompt(Base):
    """An offer, made when a deal is won, to turn the company into an Active client."""

    __tablename__ = "conversion_prompts"
    __table_args__ = (Index("ix_conversion_prompts_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64), ForeignKey("companies.id"), index=True)
    deal_id: Mapped[str] = mapped_column(String(120), unique=True)
    deal_name: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[str | None] = mapped_column(String(120))
    amount_minor: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
