"""``/api/v1/groups/{client_id}/portfolio``: the portfolio rollup of a group account."""

from __future__ import annotations

from decimal import Decimal

from litestar import get
from litestar.params import FromPath

from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db
from clientpulse.tiering.api.dependencies import Desk
from clientpulse.tiering.api.schemas.portfolio import MemberTierRead, PortfolioRead
from clientpulse.tiering.domain.portfolio import MemberFacts, Portfolio, group_portfolio

# Shown rounded: the rollup itself keeps every digit until the tier is chosen.
_SHOWN = Decimal("0.01")


def portfolio_read(group_id: str, rolled: Portfolio, members: list[MemberFacts], base_currency: str) -> PortfolioRead:
    """The API view of a group's rollup and its members."""
    return PortfolioRead(
        group_id=group_id,
        track=rolled.track.value if rolled.track else None,
        members=[
            MemberTierRead(
                client_id=m.client_id,
                name=m.name,
                effective_tier=Tier(m.effective_tier) if m.effective_tier else None,
                revenue_minor=m.revenue_minor,
            )
            for m in members
        ],
        combined_revenue_minor=rolled.combined_revenue_minor,
        revenue_currency=base_currency,
        revenue_band=rolled.band,
        human_ratings={key: value.quantize(_SHOWN) for key, value in rolled.human_ratings.items()},
        score=rolled.score.quantize(_SHOWN) if rolled.score is not None else None,
        tier=rolled.tier,
        tier_distribution=rolled.tier_distribution,
    )


class PortfolioController(ClientsModuleController):
    """``/api/v1/groups/{client_id}/portfolio``"""

    path = "/api/v1/groups/{client_id:str}/portfolio"
    tags = ["tiering"]

    @get("/", summary="Portfolio rollup of a group account")
    async def portfolio(self, identity: Caller, db: Db, desk: Desk, client_id: FromPath[str]) -> PortfolioRead:
        async with db.transaction() as session:
            group = await visible_client(session, identity, client_id)
            rolled, members = await group_portfolio(session, identity, group, desk=desk, today=utcnow().date())
        return portfolio_read(client_id, rolled, members, desk.rates.base_currency)
