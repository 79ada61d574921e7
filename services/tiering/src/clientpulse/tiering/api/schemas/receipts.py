"""Score receipts and the score history made of them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from clientpulse.shared.contracts.events import Tier


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


class HistoryRead(BaseModel):
    """A page of score history, newest first, with the trend of the latest scores."""

    trend: str = Field(description="up, down or flat: the latest score against the one before; new; none")
    items: list[ReceiptRead]
    next_cursor: str | None = None
