"""A group account's portfolio rollup."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from clientpulse.shared.contracts.events import Tier


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
