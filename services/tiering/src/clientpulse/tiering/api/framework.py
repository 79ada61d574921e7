"""``/api/v1/tiering/framework``: the scoring framework in force (docs/domain-rules.md, "Tier scoring")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from clientpulse.shared.errors import NotFound
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Db
from clientpulse.tiering.api.dependencies import Desk
from clientpulse.tiering.api.schemas.framework import (
    DimensionRead,
    FrameworkRead,
    RevenueBandRead,
    TierRangeRead,
    TrackRead,
)
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.domain.framework import (
    TIER_FLOORS,
    Dimension,
    Framework,
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


def framework_read(framework: Framework, base_currency: str) -> FrameworkRead:
    """The API view of one framework version."""
    return FrameworkRead(
        version=framework.version,
        base_currency=base_currency,
        tracks=[track_read(track, dimensions) for track, dimensions in framework.tracks.items()],
        revenue_bands=[
            RevenueBandRead(
                score=score, min_revenue=low, max_revenue=high, rule=revenue_band_rule(score, framework.revenue_bands)
            )
            for score, low, high in framework.revenue_bands
        ],
        tiers=[
            TierRangeRead(tier=tier.value, min_score=None if floor == Decimal("-Infinity") else floor)
            for tier, floor in TIER_FLOORS
        ],
    )


class FrameworkController(ClientsModuleController):
    """``/api/v1/tiering/framework``"""

    path = "/api/v1/tiering"
    tags = ["tiering"]

    @get(
        "/framework",
        summary="The scoring framework in force, or an earlier version",
        description="Without `version`, the version in force; with it, that version as it was published (the "
        "weights and bands an old receipt's `framework_version` was scored by).",
    )
    async def framework(
        self, db: Db, desk: Desk, version: Annotated[int | None, QueryParameter(ge=1)] = None
    ) -> FrameworkRead:
        async with db.transaction() as session:
            frameworks = FrameworkRepository(session)
            found = await frameworks.in_force() if version is None else await frameworks.version(version)
        if found is None:
            raise NotFound(f"framework version {version} was never published")
        return framework_read(found, desk.rates.base_currency)
