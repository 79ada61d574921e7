"""Portfolio rollup of a group account (DESIGN.md §6, Group accounts).

The money dimension comes from the group's combined revenue (the parent's and every member's);
each human dimension is the revenue-weighted mean of the scored members' ratings on the portfolio's
track; the portfolio tier follows from those, and the members' tier distribution is shown beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.money import major_units
from clientpulse.tiering.domain.framework import (
    Track,
    human_dimensions,
    money_dimension,
    revenue_band_score,
    tier_for_score,
)

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


def rollup(members: list[MemberFacts], parent_track: str | None, base_currency: str) -> Portfolio:
    """Roll a group's members (parent included) up into one portfolio score and tier."""
    combined = sum(m.revenue_minor for m in members)
    band = revenue_band_score(major_units(combined, base_currency))
    track = portfolio_track(parent_track, [m.track for m in members if m.track])
    distribution = Counter(m.effective_tier or UNSCORED for m in members)
    ratings: dict[str, Decimal] = {}
    score: Decimal | None = None
    tier: Tier | None = None
    if track is not None:
        on_track = [m for m in members if m.track == track.value and m.ratings]
        if on_track:
            for dimension in human_dimensions(track):
                pairs = [(m.revenue_minor, m.ratings[dimension.key]) for m in on_track if m.ratings]
                ratings[dimension.key] = revenue_weighted_mean(pairs)
            score = money_dimension(track).weight * band + sum(
                (d.weight * ratings[d.key] for d in human_dimensions(track)), Decimal(0)
            )
            tier = tier_for_score(score)
    return Portfolio(track, combined, band, ratings, score, tier, dict(distribution))
