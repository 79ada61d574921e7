"""The records a relationship summary rests on, as read from the clients and tiering services and from this
service's own analyses. Each record keeps the id the frontend links to; free text written by people (status
reasons, override reasons, health notes, QBR summaries and outcomes, notes) is kept apart as untrusted data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

CitationKind = Literal["client", "history", "tier_receipt", "health", "qbr", "goal", "note", "analysis"]
# Fields holding text written by people: data for a model, never instructions, never a source of facts.
UNTRUSTED_RECORD_FIELDS = frozenset({"status_reason", "override_reason", "note", "summary", "outcomes", "body", "line"})


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClientRecord(_Record):
    """The client as the clients service shows it."""

    id: str
    name: str
    status: str
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    tier: str | None = None
    tier_score: Decimal | None = None
    stale: bool = False
    review_action_due_on: date | None = None
    health_score: int | None = None
    health_band: str | None = None
    last_qbr_on: date | None = None
    next_qbr_due_on: date | None = None
    qbr_overdue: bool = False


class HistoryRecord(_Record):
    """A history feed entry (status changes are the ones a summary reads)."""

    id: str
    occurred_at: datetime
    type: str
    line: str = ""


class ReceiptRecord(_Record):
    """A tier score receipt (a score, or an override set or cleared)."""

    id: str
    kind: str
    score: Decimal
    computed_tier: str
    effective_tier: str
    override_tier: str | None = None
    override_reason: str | None = None
    recorded_at: datetime


class HealthRecord(_Record):
    """A recorded health score."""

    id: str
    score: int
    band: str
    note: str | None = None
    recorded_at: datetime


class QbrRecord(_Record):
    """A held QBR."""

    id: str
    held_on: date
    summary: str = ""
    outcomes: list[str] = []


class GoalRecord(_Record):
    """A goal with its status by the pace rule."""

    id: str
    name: str
    target: Decimal
    current: Decimal
    unit: str | None = None
    status: str
    period_end: date
    closed: bool = False


class NoteRecord(_Record):
    """A note (deleted notes have no body and are left out)."""

    id: str
    body: str | None = None
    deleted: bool = False
    created_at: datetime


class AnalysisRecord(_Record):
    """The latest weekly results analysis of this service."""

    id: str
    week: str
    format: str = "structured"
    health_score: int | None = None
    status: str | None = None


class RelationshipRecords(_Record):
    """Everything a summary may say, for one client."""

    client: ClientRecord
    status_changes: list[HistoryRecord] = []
    receipts: list[ReceiptRecord] = []
    tier_trend: str = "none"
    health: list[HealthRecord] = []
    qbrs: list[QbrRecord] = []
    goals: list[GoalRecord] = []
    notes: list[NoteRecord] = []
    analysis: AnalysisRecord | None = None

    def known_ids(self) -> set[tuple[str, str]]:
        """Every (kind, id) a statement may cite."""
        ids: set[tuple[str, str]] = {("client", self.client.id)}
        ids |= {("history", h.id) for h in self.status_changes}
        ids |= {("tier_receipt", r.id) for r in self.receipts}
        ids |= {("health", h.id) for h in self.health}
        ids |= {("qbr", q.id) for q in self.qbrs}
        ids |= {("goal", g.id) for g in self.goals}
        ids |= {("note", n.id) for n in self.notes}
        if self.analysis is not None:
            ids.add(("analysis", self.analysis.id))
        return ids
