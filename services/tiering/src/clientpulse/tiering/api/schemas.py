"""Response bodies of the tiering API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel


class DimensionRead(BaseModel):
    """One dimension of a track."""

    key: str
    label: str
    weight: Decimal
    computed: bool


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
    tracks: list[TrackRead]
    revenue_bands: list[RevenueBandRead]
    tiers: list[TierRangeRead]


class RevenueRead(BaseModel):
    """Trailing-12-month revenue in one currency."""

    currency: str
    amount_minor: int
    invoices: int


class ClientTieringRead(BaseModel):
    """A client's tiering view (grows with scores and overrides)."""

    client_id: str
    window_start: date
    window_end: date
    trailing_revenue: list[RevenueRead]
