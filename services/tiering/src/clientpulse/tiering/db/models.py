"""Tables of the tiering service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Index, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class LedgerInvoice(Base):
    """One posted invoice or credit note (negative), as billing sent it; idempotent by invoice id."""

    __tablename__ = "ledger_invoices"
    __table_args__ = (Index("ix_ledger_invoices_client_issued", "client_id", "issued_on"),)

    invoice_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(120))
    issued_on: Mapped[date]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_credit_note: Mapped[bool]
    event_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class ClientScore(Base):
    """A client's current tiering: stored human ratings, the latest computed score and any override.

    ``human_points`` (Σ weight × rating of the human dimensions) and ``money_weight`` are kept so a
    recalculation is one set-based SQL statement: score = human_points + money_weight × band.
    """

    __tablename__ = "client_scores"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(32))
    ratings: Mapped[dict[str, int]] = mapped_column(JSON)
    ratings_recorded_at: Mapped[datetime]
    ratings_recorded_by: Mapped[str] = mapped_column(String(120))
    human_points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    money_weight: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    revenue_base_minor: Mapped[int] = mapped_column(BigInteger)
    revenue_currency: Mapped[str] = mapped_column(String(3))
    revenue_source: Mapped[str] = mapped_column(String(20))
    money_rating: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    computed_tier: Mapped[str] = mapped_column(String(20))
    framework_version: Mapped[int]
    override_tier: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_expires_at: Mapped[datetime | None]
    override_by: Mapped[str | None] = mapped_column(String(120))
    override_at: Mapped[datetime | None]
    effective_tier: Mapped[str] = mapped_column(String(20))
    receipt_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    stale_flagged_at: Mapped[datetime | None]


class ScoreReceipt(Base):
    """One entry of a client's score history: everything needed to explain the tier it produced."""

    __tablename__ = "score_receipts"
    __table_args__ = (Index("ix_score_receipts_client_recorded", "client_id", "recorded_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    track: Mapped[str] = mapped_column(String(32))
    ratings: Mapped[dict[str, int]] = mapped_column(JSON)
    money_rating: Mapped[int] = mapped_column(SmallInteger)
    revenue_base_minor: Mapped[int] = mapped_column(BigInteger)
    base_currency: Mapped[str] = mapped_column(String(3))
    revenue_source: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[date | None]
    window_end: Mapped[date | None]
    weights: Mapped[dict[str, str]] = mapped_column(JSON)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    computed_tier: Mapped[str] = mapped_column(String(20))
    effective_tier: Mapped[str] = mapped_column(String(20))
    framework_version: Mapped[int]
    override_tier: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_expires_at: Mapped[datetime | None]
    period: Mapped[str | None] = mapped_column(String(7))
    actor: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime]


class RecalculationRun(Base):
    """One monthly recalculation; unique per period, so a second request for it changes nothing."""

    __tablename__ = "recalculation_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime]
    recalculated: Mapped[int]
    changed: Mapped[int]
    skipped_never_scored: Mapped[int]
    failed: Mapped[int]


class ProductiveLink(Base):
    """A client's company in Productive, and the Productive revenue last fetched for it.

    ``revenue_window_end`` names the window the fetched figure covers (the 12 months ending then), so a
    recalculation uses it only for its own window.
    """

    __tablename__ = "productive_links"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64))
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime]
    revenue_base_minor: Mapped[int | None] = mapped_column(BigInteger)
    revenue_invoices: Mapped[int | None]
    revenue_window_end: Mapped[date | None]
    revenue_fetched_at: Mapped[datetime | None]


class GroupPortfolio(Base):
    """A group account's portfolio tier as last rolled up, so a change of it can be announced once."""

    __tablename__ = "group_portfolios"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    members: Mapped[int]
    updated_at: Mapped[datetime]


class FrameworkVersion(Base):
    """A published version of the scoring framework: its weights and revenue bands (version 1 is the code's)."""

    __tablename__ = "framework_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    weights: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    band_floors: Mapped[list[str]] = mapped_column(JSON)
    proposal_id: Mapped[str] = mapped_column(String(64), unique=True)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime]


class FrameworkProposal(Base):
    """Proposed weights and bands, kept to be compared with the framework in force and maybe published."""

    __tablename__ = "framework_proposals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    based_on_version: Mapped[int]
    weights: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    band_floors: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(120))
    proposed_at: Mapped[datetime]
    published_version: Mapped[int | None]
    published_at: Mapped[datetime | None]
