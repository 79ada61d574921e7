"""Bodies of ``/api/v1/tiering/framework/proposals``: a proposed framework and what it would do."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from clientpulse.shared.guards import InputModel


class ProposalCreate(InputModel):
    """New weights, new revenue band floors, or both; what is left out stays as in force."""

    weights: dict[str, dict[str, Decimal]] | None = Field(
        default=None,
        description="per track, every dimension's weight (the money one included) in hundredths, summing to 1",
        examples=[
            {
                "managed_delivery": {
                    "revenue": "0.40",
                    "profitability": "0.20",
                    "strategic_value": "0.20",
                    "relationship_quality": "0.20",
                }
            }
        ],
    )
    revenue_band_floors: list[Decimal] | None = Field(
        default=None,
        min_length=4,
        max_length=4,
        description="base-currency floors of bands 5 (strictly above), 4, 3 and 2, e.g. [300000, 150000, 75000, 30000]",
    )
    note: str | None = Field(default=None, max_length=2000)


class MoveRead(BaseModel):
    """How many Active scored clients would go from one effective tier to another."""

    from_tier: str
    to_tier: str
    clients: int


class ProposalRead(BaseModel):
    """A proposal, and what it would do to the clients as they are scored now."""

    id: str
    based_on_version: int
    weights: dict[str, dict[str, Decimal]]
    revenue_band_floors: list[Decimal]
    note: str | None
    proposed_by: str
    proposed_at: datetime
    published_version: int | None
    published_at: datetime | None
    clients: int = Field(description="Active scored clients compared")
    moving: int = Field(description="of them, the clients whose effective tier would change")
    moves: list[MoveRead] = Field(description="every from → to pair with its count (staying put included)")


class MovedClientRead(BaseModel):
    """A client whose effective tier the proposal would change (an override in force holds its tier)."""

    client_id: str
    name: str | None
    from_tier: str
    to_tier: str
    old_score: Decimal
    new_score: Decimal
