"""Pure rules of scoring: checking submitted ratings, the effective tier, staleness and trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from clientpulse.shared.contracts.events import Tier
from clientpulse.tiering.domain.framework import (
    BUILT_IN,
    HIGHEST_RATING,
    LOWEST_RATING,
    TRACKS,
    Framework,
    Track,
    human_dimensions,
    human_points,
    money_dimension,
    revenue_band_score,
    tier_for_score,
)


class InvalidRatings(ValueError):
    """Submitted ratings do not fit the track; the message says what is wrong."""


def parse_track(value: str) -> Track:
    """The track named by ``value``; an unknown track is refused with the valid names."""
    try:
        return Track(value)
    except ValueError:
        names = ", ".join(t.value for t in Track)
        raise InvalidRatings(f"unknown track {value!r}; choose one of {names}") from None


def check_ratings(track: Track, ratings: dict[str, int]) -> dict[str, int]:
    """The human ratings of a track, each an integer 1–5, every dimension present, nothing else.

    The money dimension is computed from revenue, so submitting it is refused too.
    """
    expected = {d.key for d in human_dimensions(track)}
    computed = money_dimension(track).key
    problems: list[str] = []
    if computed in ratings:
        problems.append(f"{computed} is computed from revenue and cannot be rated")
    unknown = sorted(set(ratings) - expected - {computed})
    if unknown:
        problems.append(f"unknown dimensions for {track.value}: {', '.join(unknown)}")
    missing = sorted(expected - set(ratings))
    if missing:
        problems.append(f"missing ratings: {', '.join(missing)}")
    for key in sorted(expected & set(ratings)):
        value = ratings[key]
        if isinstance(value, bool) or not isinstance(value, int) or not LOWEST_RATING <= value <= HIGHEST_RATING:
            problems.append(f"{key} must be an integer from {LOWEST_RATING} to {HIGHEST_RATING}, got {value!r}")
    if problems:
        raise InvalidRatings("; ".join(problems))
    return {key: ratings[key] for key in sorted(expected)}


@dataclass(frozen=True, slots=True)
class ComputedScore:
    """A score with how it was reached."""

    track: Track
    ratings: dict[str, int]
    money_rating: int
    human_points: Decimal
    money_weight: Decimal
    score: Decimal
    tier: Tier


def compute_score(
    track: Track, ratings: dict[str, int], revenue_major: Decimal, framework: Framework = BUILT_IN
) -> ComputedScore:
    """Score checked human ratings with the money dimension banded from revenue (base major units), by the
    framework in force."""
    money = money_dimension(track, framework.tracks)
    band = revenue_band_score(revenue_major, framework.revenue_bands)
    points = human_points(track, ratings, framework.tracks)
    score = points + money.weight * band
    return ComputedScore(track, ratings, band, points, money.weight, score, tier_for_score(score))


def override_in_force(expires_at: datetime | None, now: datetime) -> bool:
    """An override holds until its expiry (none: until cleared)."""
    return expires_at is None or expires_at > now


def effective_tier(computed: Tier, override: Tier | None, expires_at: datetime | None, now: datetime) -> Tier:
    """The override while it is in force, else the computed tier."""
    if override is not None and override_in_force(expires_at, now):
        return override
    return computed


def score_trend(scores_oldest_first: list[Decimal]) -> str:
    """``up``, ``down`` or ``flat``: the latest score against the one before (``new`` with one score)."""
    if not scores_oldest_first:
        return "none"
    if len(scores_oldest_first) == 1:
        return "new"
    latest, previous = scores_oldest_first[-1], scores_oldest_first[-2]
    if latest > previous:
        return "up"
    if latest < previous:
        return "down"
    return "flat"


def weights_of(track: Track) -> dict[str, str]:
    """The weights of a track as a receipt records them."""
    return {d.key: str(d.weight) for d in TRACKS[track]}
