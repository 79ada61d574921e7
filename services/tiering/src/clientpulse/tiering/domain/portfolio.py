"""Portfolio rollup of a group account (docs/domain-rules.md, "Tier scoring").

A group's members are the clients below its parent at every level (children, their children, …); a
hierarchy that loops back to the group is refused. The money dimension comes from the group's combined
revenue (the parent's and every member's);
each human dimension is the revenue-weighted mean of the scored members' ratings on the portfolio's
track; the portfolio tier follows from those, and the members' tier distribution is shown beside it.
``group_portfolio`` gathers those facts in the caller's unit of work; the rest are pure rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import ClientEntry
from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.errors import Conflict, NotFound, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.shared.money import MissingRate, major_units, round_minor
from clientpulse.tiering.db.models import ClientScore
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.db.repositories.groups import GroupCycle, GroupRepository
from clientpulse.tiering.db.repositories.scores import ScoreRepository
from clientpulse.tiering.domain.framework import (
    BUILT_IN,
    Framework,
    Track,
    human_dimensions,
    money_dimension,
    revenue_band_score,
    tier_for_score,
)
from clientpulse.tiering.domain.ledger import trailing_year_start
from clientpulse.tiering.domain.revenue import RevenueDesk

UNSCORED = "Unscored"


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the rollup needs of one member (the parent included)."""

    client_id: str
    name: str | None
    revenue_minor: int
    track: str | None
    ratings: dict[str, int] | None
    effective_tier: str | None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The rollup of a group."""

    track: Track | None
    combined_revenue_minor: int
    band: int
    human_ratings: dict[str, Decimal]
    score: Decimal | None
    tier: Tier | None
    tier_distribution: dict[str, int]


def portfolio_track(parent_track: str | None, member_tracks: list[str]) -> Track | None:
    """The parent's track when it is scored, else the track most members are scored on."""
    if parent_track:
        return Track(parent_track)
    if not member_tracks:
        return None
    counts = Counter(member_tracks)
    return Track(max(sorted(counts), key=lambda t: counts[t]))


def revenue_weighted_mean(pairs: list[tuple[int, int]]) -> Decimal:
    """Mean of ratings weighted by revenue; a plain mean when no member has positive revenue."""
    weighted = [(max(revenue, 0), rating) for revenue, rating in pairs]
    total = sum(revenue for revenue, _ in weighted)
    if total == 0:
        return Decimal(sum(rating for _, rating in pairs)) / Decimal(len(pairs))
    return sum((Decimal(revenue) * rating for revenue, rating in weighted), Decimal(0)) / Decimal(total)


def rollup(
    members: list[MemberFacts], parent_track: str | None, base_currency: str, framework: Framework = BUILT_IN
) -> Portfolio:
    """Roll a group's members (parent included) up into one portfolio score and tier by a framework version."""
    combined = sum(m.revenue_minor for m in members)
    band = revenue_band_score(major_units(combined, base_currency), framework.revenue_bands)
    track = portfolio_track(parent_track, [m.track for m in members if m.track])
    distribution = Counter(m.effective_tier or UNSCORED for m in members)
    ratings: dict[str, Decimal] = {}
    score: Decimal | None = None
    tier: Tier | None = None
    if track is not None:
        on_track = [m for m in members if m.track == track.value and m.ratings]
        if on_track:
            humans = human_dimensions(track, framework.tracks)
            for dimension in humans:
                pairs = [(m.revenue_minor, m.ratings[dimension.key]) for m in on_track if m.ratings]
                ratings[dimension.key] = revenue_weighted_mean(pairs)
            score = money_dimension(track, framework.tracks).weight * band + sum(
                (d.weight * ratings[d.key] for d in humans), Decimal(0)
            )
            tier = tier_for_score(score)
    return Portfolio(track, combined, band, ratings, score, tier, dict(distribution))


async def group_portfolio(
    session: AsyncSession, identity: Identity, group: ClientEntry, *, desk: RevenueDesk, today: date
) -> tuple[Portfolio, list[MemberFacts]]:
    """Gather a group's members (the parent included) and roll them up; 404 when it has no members.

    Only the members the caller may see count: a group spanning squads never names, to a Manager,
    another squad's client, nor lets its revenue or tier show through the rollup (docs/access.md).
    """
    groups = GroupRepository(session)
    try:
        members = await groups.members(identity, group.client_id)
    except GroupCycle as exc:
        raise Conflict(f"{exc}; its portfolio cannot be rolled up until the hierarchy is a tree again") from exc
    if not members:
        raise NotFound(f"client {group.client_id} is not a group account (it has no members)")
    everyone = [(group.client_id, group.name), *members]
    ids = [client_id for client_id, _ in everyone]
    revenue = await _ledger_revenue(groups, desk, ids, today)
    scores = {row.client_id: row for row in await ScoreRepository(session).of_clients(ids)}
    facts = [_member_facts(member, name, revenue.get(member), scores.get(member)) for member, name in everyone]
    parent = scores.get(group.client_id)
    framework = await FrameworkRepository(session).in_force()
    return rollup(facts, parent.track if parent else None, desk.rates.base_currency, framework), facts


async def _ledger_revenue(
    groups: GroupRepository, desk: RevenueDesk, client_ids: list[str], today: date
) -> dict[str, Decimal]:
    """Each member's trailing-year ledger revenue in base minor units (unrounded); 422 when a rate is missing."""
    revenue: dict[str, Decimal] = {}
    totals = await groups.daily_totals(client_ids, trailing_year_start(today), today)
    try:
        for client_id, currency, day, amount in totals:
            revenue[client_id] = revenue.get(client_id, Decimal(0)) + desk.rates.to_base_minor(amount, currency, day)
    except MissingRate as exc:
        raise Unprocessable(f"{exc}; add it to CLIENTPULSE_TIERING_EXCHANGE_RATES") from exc
    return revenue


def _member_facts(client_id: str, name: str | None, ledger: Decimal | None, row: ClientScore | None) -> MemberFacts:
    """A member's facts: its ledger revenue, else what it was last scored with (e.g. Productive), else 0."""
    amount = row.revenue_base_minor if row is not None else 0
    if ledger is not None:
        amount = round_minor(ledger)
    return MemberFacts(
        client_id=client_id,
        name=name,
        revenue_minor=amount,
        track=row.track if row else None,
        ratings=dict(row.ratings) if row else None,
        effective_tier=row.effective_tier if row else None,
    )
