"""Response bodies of the tiering API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clientpulse.shared.contracts.events import Tier


class DimensionRead(BaseModel):
    """One dimension of a track."""

    key: str
    label: str
    weight: Decimal
    computed: bool
    rubric: dict[int, str] | None = Field(default=None, description="what each rating 1–5 means (human dimensions)")


class TrackRead(BaseModel):
    """A scoring track and its dimensions."""

    track: str
    dimensions: list[DimensionRead]


class RevenueBandRead(BaseModel):
    """One revenue band: score for revenue between the bounds (base-currency major units)."""

    score: int
    min_revenue: Decimal
    max_revenue: Decimal | None
    rule: str


class TierRangeRead(BaseModel):
    """A tier and the lowest weighted score that reaches it."""

    tier: str
    min_score: Decimal | None


class FrameworkRead(BaseModel):
    """The scoring framework in force."""

    version: int
    base_currency: str
    tracks: list[TrackRead]
    revenue_bands: list[RevenueBandRead]
    tiers: list[TierRangeRead]


class RevenueRead(BaseModel):
    """Trailing-12-month revenue in one currency."""

    currency: str
    amount_minor: int
    invoices: int


class OverrideRead(BaseModel):
    """A tier set by hand."""

    tier: Tier
    reason: str
    expires_at: datetime | None
    set_by: str
    set_at: datetime


class ScoreRead(BaseModel):
    """The current computed score beside the effective tier."""

    track: str
    ratings: dict[str, int]
    money_rating: int
    revenue_minor: int
    revenue_currency: str
    revenue_source: str
    score: Decimal
    computed_tier: Tier
    effective_tier: Tier
    framework_version: int
    ratings_recorded_at: datetime
    ratings_recorded_by: str
    stale: bool = Field(description="human ratings older than 90 days")
    receipt_id: str
    override: OverrideRead | None


class ClientTieringRead(BaseModel):
    """A client's tiering: ledger revenue by currency, and its score, tier and override once scored."""

    client_id: str
    window_start: date
    window_end: date
    trailing_revenue: list[RevenueRead]
    current: ScoreRead | None = None


class ScoreCreate(BaseModel):
    """Score Now: the track and the human ratings (the money dimension is computed)."""

    model_config = ConfigDict(extra="forbid")

    track: str = Field(description="managed_delivery or product_saas", max_length=40)
    ratings: dict[str, int] = Field(description="each human dimension of the track rated 1–5", max_length=10)


class OverrideCreate(BaseModel):
    """Set the effective tier by hand."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    expires_at: AwareDatetime | None = Field(default=None, description="with a time zone; none: until cleared")


class ReceiptRead(BaseModel):
    """A score receipt: everything that explains a tier."""

    id: str
    client_id: str
    kind: str
    track: str
    ratings: dict[str, int]
    money_rating: int
    revenue_minor: int
    revenue_currency: str
    revenue_source: str
    window_start: date | None
    window_end: date | None
    weights: dict[str, Decimal]
    score: Decimal
    computed_tier: Tier
    effective_tier: Tier
    framework_version: int
    override_tier: Tier | None
    override_reason: str | None
    override_expires_at: datetime | None
    period: str | None
    actor: str
    recorded_at: datetime


class ScoreResult(BaseModel):
    """What Score Now and override changes answer: the receipt and the tiering after it."""

    receipt: ReceiptRead | None
    current: ScoreRead


class HistoryRead(BaseModel):
    """A page of score history, newest first, with the trend of the latest scores."""

    trend: str = Field(description="up, down or flat: the latest score against the one before; new; none")
    items: list[ReceiptRead]
    next_cursor: str | None = None


class RecalculationCreate(BaseModel):
    """Ask for a period's recalculation."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM: revenue is the 12 months ending with this month"
    )


class RecalculationRead(BaseModel):
    """A recalculation run (or a request not yet run)."""

    period: str
    status: str = Field(description="requested or completed")
    event_id: str
    run_id: str | None = None
    requested_by: str | None = None
    completed_at: datetime | None = None
    recalculated: int | None = None
    changed: int | None = None
    skipped_never_scored: int | None = None
    failed: int | None = None


class MemberTierRead(BaseModel):
    """A group member and its effective tier (None: never scored)."""

    client_id: str
    name: str | None
    effective_tier: Tier | None
    revenue_minor: int


class PortfolioRead(BaseModel):
    """A group account's portfolio rollup."""

    group_id: str
    track: str | None
    members: list[MemberTierRead]
    combined_revenue_minor: int
    revenue_currency: str
    revenue_band: int
    human_ratings: dict[str, Decimal] = Field(description="revenue-weighted mean of the members' ratings")
    score: Decimal | None
    tier: Tier | None
    tier_distribution: dict[str, int]
