"""Every event of the catalogue (docs/events.md), one frozen class per versioned event.

Subjects follow ``<context>.v<N>.<entity>.<past-tense verb>``. Money is integer minor units with an
ISO 4217 code; scores are ``Decimal`` (JSON strings); times are UTC; a client's id is its
company's id, so billing and CRM events name the client without knowing the client layer exists.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from clientpulse.shared.contracts.envelope import EventData, Stream


class ClientStatus(enum.StrEnum):
    """Relationship status of a client."""

    PROSPECT = "Prospect"
    ACTIVE = "Active"
    DORMANT = "Dormant"
    ALUMNI = "Alumni"


class Tier(enum.StrEnum):
    """Service tier, best first."""

    PLATINUM = "Platinum"
    CORE = "Core"
    STANDARD = "Standard"
    REVIEW = "Review"


class HealthBand(enum.StrEnum):
    """Health colour band: Green 70–100, Amber 40–69, Red 0–39."""

    GREEN = "Green"
    AMBER = "Amber"
    RED = "Red"


class TierChangeCause(enum.StrEnum):
    """Why a client's effective tier changed."""

    SCORE_NOW = "score_now"
    OVERRIDE = "override"
    RECALCULATION = "recalculation"
    EXPIRY = "expiry"


# --- billing (external) -------------------------------------------------------------------------


class InvoicePosted(EventData):
    """An invoice or credit note was posted in the billing system (credit notes are negative)."""

    event_type: ClassVar[str] = "InvoicePosted"
    subject: ClassVar[str] = "billing.v1.invoice.posted"
    stream: ClassVar[Stream] = Stream.BILLING

    invoice_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1, description="the company the invoice is billed to")
    number: str | None = None
    issued_on: date
    amount_minor: int = Field(description="integer minor units; negative for a credit note")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    is_credit_note: bool = False


# --- crm (external) -----------------------------------------------------------------------------


class DealWon(EventData):
    """A deal was won in the CRM; the clients service offers to convert the company."""

    event_type: ClassVar[str] = "DealWon"
    subject: ClassVar[str] = "crm.v1.deal.won"
    stream: ClassVar[Stream] = Stream.CRM

    deal_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1, description="the company the deal was won with")
    company_name: str | None = None
    deal_name: str | None = None
    owner_id: str | None = Field(default=None, description="the deal owner's user id, if known")
    amount_minor: int | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    won_at: datetime


# --- clients ------------------------------------------------------------------------------------


class ClientCreated(EventData):
    """A company became a client. Carries what consumers replicate (name, status, DM, squad, parent)."""

    event_type: ClassVar[str] = "ClientCreated"
    subject: ClassVar[str] = "clients.v1.client.created"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    name: str
    status: ClientStatus
    dm_id: str | None = None
    squad_id: str | None = None
    parent_id: str | None = None
    created_by: str
    converted_from_prompt_id: str | None = None


class ClientUpdated(EventData):
    """Profile fields of a client changed (the full replicated view after the change)."""

    event_type: ClassVar[str] = "ClientUpdated"
    subject: ClassVar[str] = "clients.v1.client.updated"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    name: str
    changed_fields: list[str]
    updated_by: str


class ClientStatusChanged(EventData):
    """A client's relationship status changed."""

    event_type: ClassVar[str] = "ClientStatusChanged"
    subject: ClassVar[str] = "clients.v1.client.status_changed"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    old_status: ClientStatus
    new_status: ClientStatus
    reason: str | None = None
    changed_by: str


class ClientAssigned(EventData):
    """A client's delivery manager or squad changed."""

    event_type: ClassVar[str] = "ClientAssigned"
    subject: ClassVar[str] = "clients.v1.client.assigned"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    dm_id: str | None
    squad_id: str | None
    previous_dm_id: str | None = None
    previous_squad_id: str | None = None
    assigned_by: str


class ClientGroupChanged(EventData):
    """A client's parent in a group account changed (``parent_id`` None: no longer in a group)."""

    event_type: ClassVar[str] = "ClientGroupChanged"
    subject: ClassVar[str] = "clients.v1.client.group_changed"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    parent_id: str | None
    previous_parent_id: str | None = None
    changed_by: str


class HealthScoreRecorded(EventData):
    """A health score (0–100) was recorded for a client."""

    event_type: ClassVar[str] = "HealthScoreRecorded"
    subject: ClassVar[str] = "clients.v1.health.recorded"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    health_id: str
    score: int = Field(ge=0, le=100)
    band: HealthBand
    previous_band: HealthBand | None = None
    note: str | None = None
    recorded_by: str
    recorded_at: datetime


class QbrLogged(EventData):
    """A quarterly business review was held and logged."""

    event_type: ClassVar[str] = "QbrLogged"
    subject: ClassVar[str] = "clients.v1.qbr.logged"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    qbr_id: str
    held_on: date
    next_due_on: date
    logged_by: str


class QbrOverdue(EventData):
    """An Active client's QBR is past due; published once per overdue episode."""

    event_type: ClassVar[str] = "QbrOverdue"
    subject: ClassVar[str] = "clients.v1.qbr.overdue"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    due_on: date
    days_overdue: int = Field(ge=0)
    last_qbr_on: date | None = None
    dm_id: str | None = None
    squad_id: str | None = None


class GoalChanged(EventData):
    """A client's goal was set, changed or closed: the whole goal after the change.

    Results-ingest keeps these to show a goal's status beside the metric it is linked to.
    """

    event_type: ClassVar[str] = "GoalChanged"
    subject: ClassVar[str] = "clients.v1.goal.changed"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    goal_id: str
    name: str
    kind: str = Field(description="cumulative or level")
    direction: str = Field(description="higher or lower (is better)")
    target: Decimal
    unit: str | None = None
    period_start: date
    period_end: date
    metric: str | None = Field(default=None, description="the results metric the goal follows, if any")
    closed: bool = False
    changed_by: str


class ReviewDecision(enum.StrEnum):
    """What was decided for a client in Review (its 30-day action)."""

    REPRICE = "reprice"
    EXIT = "exit"
    IMPROVE = "improve"


class CheckInLogged(EventData):
    """A monthly check-in with a client was held and logged; for a Platinum client the next falls due a month later."""

    event_type: ClassVar[str] = "CheckInLogged"
    subject: ClassVar[str] = "clients.v1.check_in.logged"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    check_in_id: str
    held_on: date
    held_by: str
    next_due_on: date | None = Field(default=None, description="None unless the client is Platinum")
    logged_by: str


class CheckInDue(EventData):
    """A Platinum client's monthly check-in falls due soon; published once per due date."""

    event_type: ClassVar[str] = "CheckInDue"
    subject: ClassVar[str] = "clients.v1.check_in.due"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    due_on: date
    last_check_in_on: date | None = None
    dm_id: str | None = None
    squad_id: str | None = None


class CheckInOverdue(EventData):
    """An Active Platinum client's monthly check-in is past due; published once per overdue episode."""

    event_type: ClassVar[str] = "CheckInOverdue"
    subject: ClassVar[str] = "clients.v1.check_in.overdue"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    due_on: date
    days_overdue: int = Field(ge=0)
    last_check_in_on: date | None = None
    dm_id: str | None = None
    squad_id: str | None = None


class SeniorDmMissing(EventData):
    """A Platinum client is looked after by a DM who is not one of the senior DMs (or by nobody).

    Published when the client starts to lack a senior DM (it became Platinum, or was assigned).
    """

    event_type: ClassVar[str] = "SeniorDmMissing"
    subject: ClassVar[str] = "clients.v1.client.senior_dm_missing"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    dm_id: str | None = None
    squad_id: str | None = None


class ReviewDecisionRecorded(EventData):
    """The 30-day action of a client in Review was closed with a decision and its reason."""

    event_type: ClassVar[str] = "ReviewDecisionRecorded"
    subject: ClassVar[str] = "clients.v1.review.decided"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: str
    decision: ReviewDecision
    reason: str
    action_due_on: date | None = Field(default=None, description="the 30-day due date the decision closed")
    decided_by: str


# --- tiering ------------------------------------------------------------------------------------


class ScoreRecorded(EventData):
    """A tier score was computed (Score Now or recalculation) and kept with its receipt."""

    event_type: ClassVar[str] = "ScoreRecorded"
    subject: ClassVar[str] = "tiering.v1.score.recorded"
    stream: ClassVar[Stream] = Stream.TIERING

    client_id: str
    receipt_id: str
    track: str
    score: Decimal
    computed_tier: Tier
    effective_tier: Tier
    framework_version: int
    ratings_recorded_at: datetime
    stale: bool = False
    recorded_by: str


class TierChanged(EventData):
    """A client's *effective* tier changed (never published when only the score moved)."""

    event_type: ClassVar[str] = "TierChanged"
    subject: ClassVar[str] = "tiering.v1.tier.changed"
    stream: ClassVar[Stream] = Stream.TIERING

    client_id: str
    old_tier: Tier | None
    new_tier: Tier
    old_score: Decimal | None
    new_score: Decimal | None
    cause: TierChangeCause
    receipt_id: str | None = None
    changed_by: str | None = None


class TierOverrideSet(EventData):
    """A tier override was set (or replaced), whether or not the effective tier moved."""

    event_type: ClassVar[str] = "TierOverrideSet"
    subject: ClassVar[str] = "tiering.v1.override.set"
    stream: ClassVar[Stream] = Stream.TIERING

    client_id: str
    tier: Tier
    reason: str
    expires_at: datetime | None = None
    effective_tier: Tier
    computed_tier: Tier | None = None
    set_by: str


class TierOverrideCleared(EventData):
    """A tier override ended: cleared by a person or reached its expiry (``expired``)."""

    event_type: ClassVar[str] = "TierOverrideCleared"
    subject: ClassVar[str] = "tiering.v1.override.cleared"
    stream: ClassVar[Stream] = Stream.TIERING

    client_id: str
    tier: Tier = Field(description="the tier the override had set")
    effective_tier: Tier = Field(description="the effective tier after it ended (the computed one)")
    expired: bool = False
    cleared_by: str


class RecalculationRequested(EventData):
    """The monthly recalculation of a period was asked for (event id derived from the period)."""

    event_type: ClassVar[str] = "RecalculationRequested"
    subject: ClassVar[str] = "tiering.v1.recalculation.requested"
    stream: ClassVar[Stream] = Stream.TIERING

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    requested_by: str


class RecalculationCompleted(EventData):
    """A period's recalculation finished, with its counts."""

    event_type: ClassVar[str] = "RecalculationCompleted"
    subject: ClassVar[str] = "tiering.v1.recalculation.completed"
    stream: ClassVar[Stream] = Stream.TIERING

    period: str
    run_id: str
    recalculated: int = Field(ge=0)
    changed: int = Field(ge=0)
    skipped_never_scored: int = Field(ge=0)
    failed: int = Field(ge=0)
    stale_flagged: int = Field(default=0, ge=0, description="Active clients whose ratings turned stale in this run")


class RecalculatedScore(BaseModel):
    """One client's score as a recalculation left it (nested in ScoresRecalculated)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    client_id: str
    score: Decimal
    computed_tier: Tier
    effective_tier: Tier


class ScoresRecalculated(EventData):
    """Part of a recalculation's moved scores: every client whose score the run changed, in parts of up to
    1,000 (one event per part, so a run of 100,000 clients is about 100 events, not 100,000)."""

    event_type: ClassVar[str] = "ScoresRecalculated"
    subject: ClassVar[str] = "tiering.v1.scores.recalculated"
    stream: ClassVar[Stream] = Stream.TIERING

    period: str
    run_id: str
    part: int = Field(ge=0)
    scores: list[RecalculatedScore] = Field(default_factory=list)


class PortfolioTierChanged(EventData):
    """A group account's portfolio tier changed (its rollup over every level of the group)."""

    event_type: ClassVar[str] = "PortfolioTierChanged"
    subject: ClassVar[str] = "tiering.v1.portfolio.tier_changed"
    stream: ClassVar[Stream] = Stream.TIERING

    client_id: str = Field(description="the group's parent")
    old_tier: Tier | None
    new_tier: Tier | None
    old_score: Decimal | None = None
    new_score: Decimal | None = None
    members: int = Field(default=0, ge=0, description="clients in the group at every level, the parent excluded")
    changed_by: str | None = None


# --- results ------------------------------------------------------------------------------------


class BackfillRequested(EventData):
    """A 30/60/90-day backfill of a client's platform results was requested."""

    event_type: ClassVar[str] = "BackfillRequested"
    subject: ClassVar[str] = "results.v1.backfill.requested"
    stream: ClassVar[Stream] = Stream.RESULTS

    backfill_id: str
    client_id: str
    days: int
    requested_by: str
    platforms: list[str] = Field(default_factory=list)


class BackfillCompleted(EventData):
    """A backfill finished; ``failed_parts`` names the platforms' windows that failed while the others
    were stored (empty when every part was)."""

    event_type: ClassVar[str] = "BackfillCompleted"
    subject: ClassVar[str] = "results.v1.backfill.completed"
    stream: ClassVar[Stream] = Stream.RESULTS

    backfill_id: str
    client_id: str
    days: int
    rows_written: int = Field(ge=0)
    requested_by: str
    failed_parts: list[str] = Field(default_factory=list)


class BackfillFailed(EventData):
    """A backfill gave up; ``reason`` says why in words an operator can act on."""

    event_type: ClassVar[str] = "BackfillFailed"
    subject: ClassVar[str] = "results.v1.backfill.failed"
    stream: ClassVar[Stream] = Stream.RESULTS

    backfill_id: str
    client_id: str
    days: int
    reason: str
    requested_by: str


class BackfillSliceRequested(EventData):
    """One connection's window of a running backfill is ready for a worker (work shared across replicas)."""

    event_type: ClassVar[str] = "BackfillSliceRequested"
    subject: ClassVar[str] = "results.v1.backfill.slice_requested"
    stream: ClassVar[Stream] = Stream.RESULTS

    backfill_id: str
    client_id: str
    connection_id: str
    platform: str
    window_start: date
    window_end: date


class MetricValue(BaseModel):
    """One account metric's total over a synced window (nested in SyncCompleted)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: str
    value: Decimal
    unit: str | None = None


class SyncCompleted(EventData):
    """A connection's trailing window was re-read and stored."""

    event_type: ClassVar[str] = "SyncCompleted"
    subject: ClassVar[str] = "results.v1.sync.completed"
    stream: ClassVar[Stream] = Stream.RESULTS

    client_id: str
    connection_id: str
    platform: str
    window_start: date
    window_end: date
    days_written: int = Field(ge=0)
    metrics: list[MetricValue] = Field(default_factory=list)


class ConnectionExpiring(EventData):
    """A platform connection's access ends soon and cannot be renewed: a person must connect it again.

    Announced once per ending (``expires_at``), some days ahead, to the client's DM.
    """

    event_type: ClassVar[str] = "ConnectionExpiring"
    subject: ClassVar[str] = "results.v1.connection.expiring"
    stream: ClassVar[Stream] = Stream.RESULTS

    client_id: str
    connection_id: str
    platform: str
    platform_name: str
    account_id: str
    account_name: str | None = None
    expires_at: datetime


class ConnectionAdded(EventData):
    """A client was connected to a platform account."""

    event_type: ClassVar[str] = "ConnectionAdded"
    subject: ClassVar[str] = "results.v1.connection.added"
    stream: ClassVar[Stream] = Stream.RESULTS

    client_id: str
    connection_id: str
    platform: str
    platform_name: str
    account_id: str
    account_name: str | None = None
    added_by: str


class ConnectionRemoved(EventData):
    """A client's platform connection was removed (its stored results stay)."""

    event_type: ClassVar[str] = "ConnectionRemoved"
    subject: ClassVar[str] = "results.v1.connection.removed"
    stream: ClassVar[Stream] = Stream.RESULTS

    client_id: str
    connection_id: str
    platform: str
    platform_name: str
    account_id: str
    account_name: str | None = None
    removed_by: str


class GoalMeasurement(BaseModel):
    """One linked goal's metric value over the goal's own period so far (nested in GoalsMeasured)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    goal_id: str
    metric: str
    current: Decimal
    period_start: date
    period_end: date
    status: str = Field(description="On Track, At Risk or Off Track, judged on the results service's numbers")


class GoalsMeasured(EventData):
    """The open goals of a client linked to a metric, measured over their own periods after new results
    were stored (a sync, a backfill) or a goal changed."""

    event_type: ClassVar[str] = "GoalsMeasured"
    subject: ClassVar[str] = "results.v1.goals.measured"
    stream: ClassVar[Stream] = Stream.RESULTS

    client_id: str
    measured_on: date = Field(description="the day the periods were measured up to")
    goals: list[GoalMeasurement] = Field(default_factory=list)


# --- insights -----------------------------------------------------------------------------------


class AnalysisGenerated(EventData):
    """The weekly structured analysis of a client was written."""

    event_type: ClassVar[str] = "AnalysisGenerated"
    subject: ClassVar[str] = "insights.v1.analysis.generated"
    stream: ClassVar[Stream] = Stream.INSIGHTS

    client_id: str
    analysis_id: str
    week: str = Field(description="ISO week, e.g. 2026-W48")
    health_score: int = Field(ge=0, le=100)
    status: str
    generated_by: str = Field(description="'deterministic' or the model that wrote the prose")


class WeeklyAnalysisRequested(EventData):
    """The weekly analysis of an ISO week was asked for (the CronJob; event id derived from the week)."""

    event_type: ClassVar[str] = "WeeklyAnalysisRequested"
    subject: ClassVar[str] = "insights.v1.analysis.requested"
    stream: ClassVar[Stream] = Stream.INSIGHTS

    week: str = Field(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$", description="ISO week, e.g. 2026-W48")
    requested_by: str


class ClientAnalysisRequested(EventData):
    """One client's share of a weekly analysis, ready for a worker (work shared across replicas)."""

    event_type: ClassVar[str] = "ClientAnalysisRequested"
    subject: ClassVar[str] = "insights.v1.analysis.client_requested"
    stream: ClassVar[Stream] = Stream.INSIGHTS

    client_id: str
    week: str = Field(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$", description="ISO week, e.g. 2026-W48")
    requested_by: str


class SummaryRequested(EventData):
    """A client's relationship summary is due: the first significant event of a burst asks once (the insights
    service waits until the burst is over, then writes one summary)."""

    event_type: ClassVar[str] = "SummaryRequested"
    subject: ClassVar[str] = "insights.v1.summary.requested"
    stream: ClassVar[Stream] = Stream.INSIGHTS

    client_id: str
    trigger: str = Field(description="the event that started the burst, e.g. TierChanged")


class SummaryGenerated(EventData):
    """A relationship summary of a client was written."""

    event_type: ClassVar[str] = "SummaryGenerated"
    subject: ClassVar[str] = "insights.v1.summary.generated"
    stream: ClassVar[Stream] = Stream.INSIGHTS

    client_id: str
    summary_id: str
    generated_by: str
    deterministic: bool = Field(default=True, description="templated from the records (no model, or its reply refused)")
    statements: int = Field(default=0, ge=0, description="how many statements it makes, each citing its records")


CATALOGUE: tuple[type[EventData], ...] = (
    InvoicePosted,
    DealWon,
    ClientCreated,
    ClientUpdated,
    ClientStatusChanged,
    ClientAssigned,
    ClientGroupChanged,
    HealthScoreRecorded,
    QbrLogged,
    QbrOverdue,
    GoalChanged,
    CheckInLogged,
    CheckInDue,
    CheckInOverdue,
    SeniorDmMissing,
    ReviewDecisionRecorded,
    ScoreRecorded,
    TierChanged,
    TierOverrideSet,
    TierOverrideCleared,
    RecalculationRequested,
    RecalculationCompleted,
    ScoresRecalculated,
    PortfolioTierChanged,
    BackfillRequested,
    BackfillCompleted,
    BackfillFailed,
    BackfillSliceRequested,
    SyncCompleted,
    ConnectionExpiring,
    ConnectionAdded,
    ConnectionRemoved,
    GoalsMeasured,
    WeeklyAnalysisRequested,
    ClientAnalysisRequested,
    AnalysisGenerated,
    SummaryRequested,
    SummaryGenerated,
)

EVENTS_BY_SUBJECT: dict[str, type[EventData]] = {event.subject: event for event in CATALOGUE}
EVENTS_BY_NAME: dict[str, type[EventData]] = {event.event_type: event for event in CATALOGUE}
