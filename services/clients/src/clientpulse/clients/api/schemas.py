"""Request and response bodies of the clients API (separate create / update / read shapes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from clientpulse.clients.api.base import contains_nul
from clientpulse.clients.db.models import Client, Company, ConversionPrompt, Goal, HealthScore, HistoryEntry, Note, Qbr
from clientpulse.clients.domain import rules
from clientpulse.shared import goals
from clientpulse.shared.contracts.events import ClientStatus, HealthBand, Tier
from clientpulse.shared.db import utcnow

HEALTH_COLOURS = {HealthBand.GREEN: "#16a34a", HealthBand.AMBER: "#f59e0b", HealthBand.RED: "#dc2626"}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        if contains_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


class CompanyCreate(_Input):
    """A new company record."""

    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)


class CompanyUpdate(_Input):
    """Fields to change on a company; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("name may not be null")
        return value


class CompanyRead(BaseModel):
    """A company record."""

    id: str
    name: str
    domain: str | None
    industry: str | None
    is_client: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, company: Company, *, is_client: bool) -> CompanyRead:
        """Map a stored company."""
        return cls(
            id=company.id,
            name=company.name,
            domain=company.domain,
            industry=company.industry,
            is_client=is_client,
            created_at=company.created_at,
            updated_at=company.updated_at,
        )


class ConvertRequest(_Input):
    """Converting a company into a client. ``dm_id``/``squad_id`` may be set by Executives and Heads."""

    status: ClientStatus = ClientStatus.PROSPECT
    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)


class ClientRead(BaseModel):
    """A client profile, with the tier and staleness replicated from tiering and its QBR schedule."""

    id: str
    company_id: str
    name: str
    status: ClientStatus
    status_reason: str | None
    status_changed_by: str | None
    dm_id: str | None
    squad_id: str | None
    parent_id: str | None
    created_at: datetime
    created_by: str
    status_changed_at: datetime
    tier: Tier | None
    tier_score: Decimal | None
    stale: bool
    ratings_recorded_at: datetime | None
    review_action_due_on: date | None
    health_score: int | None
    health_band: HealthBand | None
    health_colour: str | None
    last_qbr_on: date | None
    next_qbr_due_on: date | None
    qbr_overdue: bool

    @classmethod
    def of(cls, client: Client, company: Company, *, now: datetime | None = None) -> ClientRead:
        """Map a stored client and its company; staleness and overdue are judged at ``now``."""
        moment = now or utcnow()
        status = ClientStatus(client.status)
        band = HealthBand(client.health_band) if client.health_band else None
        return cls(
            id=client.id,
            company_id=company.id,
            name=company.name,
            status=status,
            status_reason=client.status_reason,
            status_changed_by=client.status_changed_by,
            dm_id=client.dm_id,
            squad_id=client.squad_id,
            parent_id=client.parent_id,
            created_at=client.created_at,
            created_by=client.created_by,
            status_changed_at=client.status_changed_at,
            tier=Tier(client.tier) if client.tier else None,
            tier_score=client.tier_score,
            stale=rules.is_stale(client.ratings_recorded_at, moment),
            ratings_recorded_at=client.ratings_recorded_at,
            review_action_due_on=client.review_action_due_on,
            health_score=client.health_score,
            health_band=band,
            health_colour=HEALTH_COLOURS[band] if band else None,
            last_qbr_on=client.last_qbr_on,
            next_qbr_due_on=client.qbr_due_on,
            qbr_overdue=rules.qbr_overdue(status, client.qbr_due_on, moment.date()),
        )


class ClientUpdate(_Input):
    """Changes to a client: status (with a reason), DM and squad (Executive/Head only), group parent."""

    status: ClientStatus | None = None
    status_reason: str | None = Field(default=None, max_length=2000)
    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _status_not_null(self) -> ClientUpdate:
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status may not be null")
        if "status_reason" in self.model_fields_set and "status" not in self.model_fields_set:
            raise ValueError("status_reason goes with a status change")
        return self


class HealthCreate(_Input):
    """A health score: an integer 0–100 with an optional note."""

    score: StrictInt = Field(ge=0, le=100)
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("score", mode="before")
    @classmethod
    def _integer_only(cls, value: Any) -> Any:
        # Litestar may hand over a lax-decoded value; "50" and 50.0 are not integers a user typed.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("score must be an integer from 0 to 100")
        return value


class HealthRead(BaseModel):
    """A recorded health score."""

    id: str
    score: int
    band: HealthBand
    colour: str
    note: str | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, entry: HealthScore) -> HealthRead:
        """Map a stored score."""
        band = HealthBand(entry.band)
        return cls(
            id=entry.id,
            score=entry.score,
            band=band,
            colour=HEALTH_COLOURS[band],
            note=entry.note,
            recorded_by=entry.recorded_by,
            recorded_at=entry.recorded_at,
        )


class QbrCreate(_Input):
    """A QBR that was held."""

    held_on: date
    internal_attendees: list[str] = Field(default_factory=list, max_length=100)
    client_attendees: list[str] = Field(default_factory=list, max_length=100)
    summary: str = Field(min_length=1, max_length=20000)
    outcomes: list[str] = Field(default_factory=list, max_length=100)


class QbrUpdate(_Input):
    """Corrections to a logged QBR."""

    held_on: date | None = None
    internal_attendees: list[str] | None = Field(default=None, max_length=100)
    client_attendees: list[str] | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, min_length=1, max_length=20000)
    outcomes: list[str] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_nulls(self) -> QbrUpdate:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        return self


class QbrRead(BaseModel):
    """A logged QBR."""

    id: str
    held_on: date
    internal_attendees: list[str]
    client_attendees: list[str]
    summary: str
    outcomes: list[str]
    logged_by: str
    logged_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, qbr: Qbr) -> QbrRead:
        """Map a stored QBR."""
        return cls(
            id=qbr.id,
            held_on=qbr.held_on,
            internal_attendees=qbr.internal_attendees,
            client_attendees=qbr.client_attendees,
            summary=qbr.summary,
            outcomes=qbr.outcomes,
            logged_by=qbr.logged_by,
            logged_at=qbr.logged_at,
            updated_at=qbr.updated_at,
        )


class GoalCreate(_Input):
    """A new goal: target vs current over a period, optionally linked to a results metric."""

    name: str = Field(min_length=1, max_length=200)
    kind: goals.GoalKind = goals.GoalKind.CUMULATIVE
    direction: goals.GoalDirection = goals.GoalDirection.HIGHER
    target: Decimal = Field(allow_inf_nan=False, max_digits=20, decimal_places=4)
    current: Decimal | None = Field(
        default=None, allow_inf_nan=False, max_digits=20, decimal_places=4, description="0 when left out"
    )
    unit: str | None = Field(default=None, max_length=40)
    period_start: date
    period_end: date
    metric: str | None = Field(default=None, min_length=1, max_length=80)


class GoalUpdate(_Input):
    """Changes to a goal; ``closed: true`` closes it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    direction: goals.GoalDirection | None = None
    target: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=20, decimal_places=4)
    current: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=20, decimal_places=4)
    unit: str | None = Field(default=None, max_length=40)
    period_start: date | None = None
    period_end: date | None = None
    metric: str | None = Field(default=None, min_length=1, max_length=80)
    closed: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> GoalUpdate:
        nullable = {"unit", "metric"}
        nulls = [n for n in self.model_fields_set if getattr(self, n) is None and n not in nullable]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        if self.closed is False:
            raise ValueError("a closed goal cannot be reopened; leave closed out or set it to true")
        return self


class GoalRead(BaseModel):
    """A goal with its status by the pace rule."""

    id: str
    name: str
    kind: goals.GoalKind
    direction: goals.GoalDirection
    target: Decimal
    current: Decimal
    unit: str | None
    period_start: date
    period_end: date
    metric: str | None
    status: goals.GoalStatus
    closed: bool
    closed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, goal: Goal, *, today: date) -> GoalRead:
        """Map a stored goal, judging its status on ``today``."""
        kind, direction = goals.GoalKind(goal.kind), goals.GoalDirection(goal.direction)
        return cls(
            id=goal.id,
            name=goal.name,
            kind=kind,
            direction=direction,
            target=goal.target,
            current=goal.current,
            unit=goal.unit,
            period_start=goal.period_start,
            period_end=goal.period_end,
            metric=goal.metric,
            status=goals.goal_status(
                kind=kind,
                direction=direction,
                current=goal.current,
                target=goal.target,
                period_start=goal.period_start,
                period_end=goal.period_end,
                today=today,
            ),
            closed=goal.closed_at is not None,
            closed_at=goal.closed_at,
            created_by=goal.created_by,
            created_at=goal.created_at,
            updated_at=goal.updated_at,
        )


class NoteCreate(_Input):
    """A note in markdown; a reply names its parent note."""

    body: str = Field(min_length=1, max_length=50000)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)


class NoteUpdate(_Input):
    """A note's new text."""

    body: str = Field(min_length=1, max_length=50000)


class NoteRevisionRead(BaseModel):
    """A note's text before an edit."""

    body: str
    replaced_by: str
    replaced_at: datetime


class NoteRead(BaseModel):
    """A note; a deleted one keeps its place in the thread without its text."""

    id: str
    parent_id: str | None
    author_id: str
    body: str | None
    deleted: bool
    created_at: datetime
    updated_at: datetime
    history: list[NoteRevisionRead]

    @classmethod
    def of(cls, note: Note, history: list[NoteRevisionRead] | None = None) -> NoteRead:
        """Map a stored note."""
        deleted = note.deleted_at is not None
        return cls(
            id=note.id,
            parent_id=note.parent_id,
            author_id=note.author_id,
            body=None if deleted else note.body,
            deleted=deleted,
            created_at=note.created_at,
            updated_at=note.updated_at,
            history=[] if deleted else (history or []),
        )


class HistoryRead(BaseModel):
    """One entry of a client's history feed."""

    id: str
    occurred_at: datetime
    type: str
    actor: str | None
    source: str
    line: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryRead:
        """Map a stored entry."""
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at,
            type=entry.kind,
            actor=entry.actor,
            source=entry.source,
            line=entry.line,
            details=entry.details,
        )


class AttentionClient(BaseModel):
    """A client that needs attention, and why."""

    client_id: str
    name: str
    qbr_overdue: bool
    low_health: bool
    next_qbr_due_on: date | None
    health_score: int | None


class AttentionRead(BaseModel):
    """The sidebar count: overdue QBRs plus low health among the caller's visible Active clients."""

    count: int
    overdue_qbrs: int
    low_health: int
    clients: list[AttentionClient]


class PromptRead(BaseModel):
    """A conversion prompt from a won deal."""

    id: str
    company_id: str
    deal_id: str
    deal_name: str | None
    owner_id: str | None
    amount_minor: int | None
    currency: str | None
    state: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def of(cls, prompt: ConversionPrompt) -> PromptRead:
        """Map a stored prompt."""
        return cls(
            id=prompt.id,
            company_id=prompt.company_id,
            deal_id=prompt.deal_id,
            deal_name=prompt.deal_name,
            owner_id=prompt.owner_id,
            amount_minor=prompt.amount_minor,
            currency=prompt.currency,
            state=prompt.state,
            created_at=prompt.created_at,
            resolved_at=prompt.resolved_at,
            resolved_by=prompt.resolved_by,
        )


class PromptAccept(_Input):
    """Accepting a prompt; Executives and Heads may name the DM and squad."""

    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)


class PromptDismiss(_Input):
    """Dismissing a prompt, with an optional note."""

    note: str | None = Field(default=None, max_length=2000)


class ImportRowRead(BaseModel):
    """What happened to one row of an import (rows count from 1, after a CSV header)."""

    row: int
    outcome: str = Field(description="created, updated, unchanged or rejected")
    company_id: str | None
    reason: str | None


class ImportRead(BaseModel):
    """The report of a bulk import."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowRead]
