"""Tiering routes."""

from __future__ import annotations

from decimal import Decimal

from litestar import Controller, get
from litestar.params import FromPath

from clientpulse.shared.access import require_clients_module
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.service import Caller, Db
from clientpulse.tiering.api.schemas import (
    ClientTieringRead,
    DimensionRead,
    FrameworkRead,
    RevenueBandRead,
    RevenueRead,
    TierRangeRead,
    TrackRead,
)
from clientpulse.tiering.domain.framework import FRAMEWORK_VERSION, REVENUE_BANDS, TIER_FLOORS, TRACKS
from clientpulse.tiering.domain.ledger import trailing_revenue, trailing_year_start

_BAND_RULES = {
    5: "R > 300,000",
    4: "150,000 ≤ R ≤ 300,000",
    3: "75,000 ≤ R < 150,000",
    2: "30,000 ≤ R < 75,000",
    1: "R < 30,000",
}


class FrameworkController(Controller):
    """``/api/v1/tiering/framework``"""

    path = "/api/v1/tiering"
    tags = ["tiering"]

    @get("/framework", summary="The scoring framework in force")
    async def framework(self, identity: Caller) -> FrameworkRead:
        require_clients_module(identity)
        return FrameworkRead(
            version=FRAMEWORK_VERSION,
            tracks=[
                TrackRead(
                    track=track.value,
                    dimensions=[
                        DimensionRead(key=d.key, label=d.label, weight=d.weight, computed=d.computed)
                        for d in dimensions
                    ],
                )
                for track, dimensions in TRACKS.items()
            ],
            revenue_bands=[
                RevenueBandRead(score=score, min_revenue=low, max_revenue=high, rule=_BAND_RULES[score])
                for score, low, high in REVENUE_BANDS
            ],
            tiers=[
                TierRangeRead(tier=tier.value, min_score=None if floor == Decimal("-Infinity") else floor)
                for tier, floor in TIER_FLOORS
            ],
        )


class ClientTieringController(Controller):
    """``/api/v1/clients/{client_id}/tiering``"""

    path = "/api/v1/clients/{client_id:str}/tiering"
    tags = ["tiering"]

    @get("/", summary="A client's tiering: revenue so far (scores and overrides to come)")
    async def client_tiering(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ClientTieringRead:
        require_clients_module(identity)
        today = utcnow().date()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            totals = await trailing_revenue(session, client_id, today)
        return ClientTieringRead(
            client_id=client_id,
            window_start=trailing_year_start(today),
            window_end=today,
            trailing_revenue=[
                RevenueRead(currency=t.currency, amount_minor=t.amount_minor, invoices=t.invoices) for t in totals
            ],
        )
