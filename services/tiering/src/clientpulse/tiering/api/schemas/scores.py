"""A client's score: Score Now, the score read beside the effective tier, and the client's tiering."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.guards import InputModel
from clientpulse.shared.ratings import STALE_AFTER
from clientpulse.tiering.api.schemas.overrides import OverrideRead
from clientpulse.tiering.api.schemas.receipts import ReceiptRead

MAX_RATED_DIMENSIONS = 10


class RevenueRead(BaseModel):
    """Trailing-12-month revenue in one currency."""

    currency: str
    amount_minor: int
    invoices: int


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
    stale: bool = Field(description=f"human ratings older than {STALE_AFTER.days} days")
    receipt_id: str
    override: OverrideRead | None


class ClientTieringRead(BaseModel):
    """A client's tiering: ledger revenue by currency, and its score, tier and override once scored."""

    client_id: str
    window_start: date
    window_end: date
    trailing_revenue: list[RevenueRead]
    current: ScoreRead | None = None
    productive_company_id: str | None = Field(
        default=None, description="the client's company in Productive (the revenue fallback), when linked"
    )


class ScoreCreate(InputModel):
    """Score Now: the track and the human ratings (the money dimension is computed)."""

    track: str = Field(description="managed_delivery or product_saas", max_length=40)
    ratings: dict[str, int] = Field(
        description=f"each human dimension of the track rated 1–5 (at most {MAX_RATED_DIMENSIONS})",
        json_schema_extra={"maxProperties": MAX_RATED_DIMENSIONS},
    )

    @field_validator("ratings")
    @classmethod
    def _bounded(cls, ratings: dict[str, int]) -> dict[str, int]:
        if len(ratings) > MAX_RATED_DIMENSIONS:
            raise ValueError(f"at most {MAX_RATED_DIMENSIONS} dimensions may be rated")
        return ratings


class ScoreResult(BaseModel):
    """What Score Now and override changes answer: the receipt and the tiering after it."""

    receipt: ReceiptRead | None
    current: ScoreRead
