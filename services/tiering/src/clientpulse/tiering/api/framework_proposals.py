"""``/api/v1/tiering/framework/proposals``: propose new weights or bands, see which clients would move,
and publish the proposal as the next framework version (Executives only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import get, post
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import ExecutiveController
from clientpulse.shared.money import minor_unit_exponent
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Caller, Db
from clientpulse.tiering.api.dependencies import Desk
from clientpulse.tiering.api.framework import framework_read
from clientpulse.tiering.api.schemas.framework import FrameworkRead
from clientpulse.tiering.api.schemas.framework_proposals import (
    MovedClientRead,
    MoveRead,
    ProposalCreate,
    ProposalRead,
)
from clientpulse.tiering.db import framework_sql
from clientpulse.tiering.db.models import FrameworkProposal
from clientpulse.tiering.domain import framework_proposals as proposals
from clientpulse.tiering.domain.framework import framework_of


async def proposal_read(session: AsyncSession, proposal: FrameworkProposal, base_currency: str) -> ProposalRead:
    """A proposal with its what-if, computed now against the stored scores."""
    moves = await framework_sql.whatif_moves(
        session,
        proposals.proposed_framework(proposal),
        base_exponent=minor_unit_exponent(base_currency),
        now=utcnow(),
    )
    return ProposalRead(
        id=proposal.id,
        based_on_version=proposal.based_on_version,
        weights={t: {k: Decimal(w) for k, w in given.items()} for t, given in proposal.weights.items()},
        revenue_band_floors=[Decimal(f) for f in proposal.band_floors],
        note=proposal.note,
        proposed_by=proposal.proposed_by,
        proposed_at=proposal.proposed_at,
        published_version=proposal.published_version,
        published_at=proposal.published_at,
        clients=sum(m.clients for m in moves),
        moving=sum(m.clients for m in moves if m.from_tier != m.to_tier),
        moves=[MoveRead(from_tier=m.from_tier, to_tier=m.to_tier, clients=m.clients) for m in moves],
    )


class FrameworkProposalController(ExecutiveController):
    """``/api/v1/tiering/framework/proposals`` (Executive only)"""

    path = "/api/v1/tiering/framework/proposals"
    tags = ["tiering"]

    @post(
        "/",
        summary="Propose new weights or revenue bands and see how many clients would move (nothing changes yet)",
        status_code=HTTP_201_CREATED,
    )
    async def propose(
        self, identity: Caller, db: Db, desk: Desk, data: Annotated[ProposalCreate, Body()]
    ) -> ProposalRead:
        async with db.transaction() as session:
            proposal = await proposals.propose(
                session,
                identity,
                weights=data.weights,
                floors=data.revenue_band_floors,
                note=data.note,
                now=utcnow(),
            )
            return await proposal_read(session, proposal, desk.rates.base_currency)

    @get("/{proposal_id:str}", summary="A proposal and what it would do now")
    async def read(self, db: Db, desk: Desk, proposal_id: FromPath[str]) -> ProposalRead:
        async with db.transaction() as session:
            proposal = await proposals.find_proposal(session, proposal_id)
            return await proposal_read(session, proposal, desk.rates.base_currency)

    @get("/{proposal_id:str}/clients", summary="The clients a proposal would move, by client id")
    async def moved_clients(
        self,
        db: Db,
        desk: Desk,
        proposal_id: FromPath[str],
        from_tier: FromQuery[Tier | None] = None,
        to_tier: FromQuery[Tier | None] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[MovedClientRead]:
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        async with db.transaction() as session:
            proposal = await proposals.find_proposal(session, proposal_id)
            moved = await framework_sql.whatif_clients(
                session,
                proposals.proposed_framework(proposal),
                base_exponent=minor_unit_exponent(desk.rates.base_currency),
                now=utcnow(),
                tiers=(from_tier.value if from_tier else None, to_tier.value if to_tier else None),
                after=str(position["after"]) if position and "after" in position else None,
                limit=size + 1,
            )
        page, more = moved[:size], len(moved) > size
        return Page[MovedClientRead](
            items=[
                MovedClientRead(
                    client_id=m.client_id,
                    name=m.name,
                    from_tier=m.from_tier,
                    to_tier=m.to_tier,
                    old_score=m.old_score,
                    new_score=m.new_score,
                )
                for m in page
            ],
            next_cursor=encode_cursor({"after": page[-1].client_id}) if more else None,
        )

    @post(
        "/{proposal_id:str}/publish",
        summary="Publish the proposal as the next framework version (used from the next recalculation on)",
        status_code=HTTP_200_OK,
    )
    async def publish(self, identity: Caller, db: Db, desk: Desk, proposal_id: FromPath[str]) -> FrameworkRead:
        async with db.transaction() as session:
            version = await proposals.publish(session, identity, proposal_id, now=utcnow())
        published = framework_of(version.version, version.weights, version.band_floors)
        return framework_read(published, desk.rates.base_currency)
