"""The scoring framework in force: tracks, dimensions, revenue bands and tier floors."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


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
