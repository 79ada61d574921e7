"""The portfolio tier of every group, kept so a change of it is announced once (``PortfolioTierChanged``,
shown in the history of the group's parent): after a recalculation for every group, after Score Now for
the groups above the scored client. Rolled up as an Executive sees it (every member counts)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import find_client
from clientpulse.shared.contracts import derived_event_id, wrap
from clientpulse.shared.contracts.events import PortfolioTierChanged
from clientpulse.shared.errors import ProblemError
from clientpulse.shared.identity import Identity, Role
from clientpulse.shared.messaging import record_event
from clientpulse.tiering.db.models import GroupPortfolio
from clientpulse.tiering.db.repositories.groups import GroupRepository
from clientpulse.tiering.domain.outbox import SOURCE
from clientpulse.tiering.domain.portfolio import group_portfolio
from clientpulse.tiering.domain.revenue import RevenueDesk

_log = logging.getLogger("clientpulse.tiering.portfolio")
_CENTS = Decimal("0.01")

# The rollup that is announced counts every member, whoever later reads the parent's history.
EVERY_MEMBER = Identity("tiering", Role.EXECUTIVE)


async def refresh_portfolio_tiers(
    session: AsyncSession,
    desk: RevenueDesk,
    group_ids: list[str],
    *,
    now: datetime,
    actor: str,
    event_key: str | None = None,
) -> int:
    """Roll each group up again and announce the ones whose portfolio tier changed; how many changed.

    ``event_key`` derives the events' ids (a recalculation run's id), so a redelivered run writes the same
    events; a group that cannot be rolled up now (a cycle, a missing rate) keeps its last tier.
    """
    changed = 0
    for group_id in group_ids:
        group = await find_client(session, group_id)
        if group is None:
            continue
        try:
            rolled, facts = await group_portfolio(session, EVERY_MEMBER, group, desk=desk, today=now.date())
        except ProblemError as exc:
            _log.warning("portfolio of group %s not rolled up: %s", group_id, exc.detail)
            continue
        stored = await session.get(GroupPortfolio, group_id, with_for_update=True)
        new_tier = rolled.tier.value if rolled.tier else None
        old_tier = stored.tier if stored is not None else None
        new_score = rolled.score.quantize(_CENTS) if rolled.score is not None else None
        if stored is None:
            stored = GroupPortfolio(group_id=group_id)
            session.add(stored)
        elif old_tier == new_tier:
            stored.score, stored.members, stored.updated_at = new_score, len(facts) - 1, now
            continue
        old_score = stored.score
        stored.tier, stored.score, stored.members, stored.updated_at = new_tier, new_score, len(facts) - 1, now
        if old_tier == new_tier:  # a first rollup without any tier: nothing to announce
            continue
        event = PortfolioTierChanged(
            client_id=group_id, old_tier=old_tier, new_tier=new_tier, old_score=old_score, new_score=new_score,
            members=len(facts) - 1, changed_by=actor,
        )  # fmt: skip
        event_id = derived_event_id(f"portfolio:{event_key}:{group_id}") if event_key else None
        await record_event(session, wrap(event, source=SOURCE, event_id=event_id, time=now))
        changed += 1
    return changed


async def refresh_groups_above(
    session: AsyncSession, desk: RevenueDesk, client_id: str, *, now: datetime, actor: str
) -> int:
    """Roll up again the client's own group, if it has members, and every group above it (after its score
    changed)."""
    groups = GroupRepository(session)
    above = await groups.ancestors(client_id)
    if await groups.has_members(client_id):
        above.insert(0, client_id)
    return await refresh_portfolio_tiers(session, desk, above, now=now, actor=actor)


async def refresh_every_group(session: AsyncSession, desk: RevenueDesk, *, now: datetime, actor: str, key: str) -> int:
    """Roll up again every group (after a recalculation)."""
    groups = await GroupRepository(session).parents()
    return await refresh_portfolio_tiers(session, desk, groups, now=now, actor=actor, event_key=key)
