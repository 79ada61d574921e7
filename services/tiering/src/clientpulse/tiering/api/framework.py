"""``/api/v1/tiering/framework``: the scoring framework in force (docs/domain-rules.md, "Tier scoring")."""

from __future__ import annotations

from decimal import Decimal

from litestar import get

from clientpulse.shared.guards import ClientsModuleController
from clientpulse.tiering.api.dependencies import Desk
from clientpulse.tiering.api.schemas.framework import (
    DimensionRead,
    FrameworkRead,
    RevenueBandRead,
    TierRangeRead,
    TrackRead,
)
from clientpulse.tiering.domain.framework import (
    FRAMEWORK_VERSION,
    REVENUE_BANDS,
    TIER_FLOORS,
    TRACKS,
    Dimension,
    Track,
    revenue_band_rule,
)


def track_read(track: Track, dimensions: tuple[Dimension, ...]) -> TrackRead:
    """The API view of a track and its weighted dimensions (with the rubric of each human one)."""
    return TrackRead(
        track=track.value,
        dimensions=[
            DimensionRead(
                key=d.key,
                label=d.label,
                weight=d.weight,
                computed=d.computed,
                rubric={level: text for level, text in enumerate(d.rubric, start=1)} if d.rubric else None,
            )
            for d in dimensions
        ],
    )


class FrameworkController(ClientsModuleController):
    """``/api/v1/tiering/framework``"""

    path = "/api/v1/tiering"
    tags = ["tiering"]

    @get("/framework", summary="The scoring framework in force")
    async def framework(self, desk: Desk) -> FrameworkRead:
        return FrameworkRead(
            version=FRAMEWORK_VERSION,
            base_currency=desk.rates.base_currency,
            tracks=[track_read(track, dimensions) for track, dimensions in TRACKS.items()],
            revenue_bands=[
                RevenueBandRead(score=score, min_revenue=low, max_revenue=high, rule=revenue_band_rule(score))
                for score, low, high in REVENUE_BANDS
            ],
            tiers=[
                TierRangeRead(tier=tier.value, min_score=None if floor == Decimal("-Infinity") else floor)
                for tier, floor in TIER_FLOORS
            ],
        )
