"""The tier scoring framework as data, and its pure rules (docs/domain-rules.md, "Tier scoring").

Scores are computed in ``Decimal`` and never rounded before the tier is chosen (3.95 is Core).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.shared.contracts.events import Tier

FRAMEWORK_VERSION = 1

# Every dimension is rated on this scale (the money dimension is banded onto it).
LOWEST_RATING = 1
HIGHEST_RATING = 5


class Track(enum.StrEnum):
    """The two scoring tracks."""

    MANAGED_DELIVERY = "managed_delivery"
    PRODUCT_SAAS = "product_saas"


@dataclass(frozen=True, slots=True)
class Dimension:
    """One rated dimension of a track; ``computed`` ones come from money, never typed in."""

    key: str
    label: str
    weight: Decimal
    computed: bool = False
    rubric: tuple[str, str, str, str, str] | None = None  # what ratings 1..5 mean, for human dimensions


_PROFITABILITY = (
    "Loss-making: delivery costs exceed fees",
    "Break-even: margin below 10 %",
    "Healthy: margin 10–25 %",
    "Strong: margin 25–40 %",
    "Exceptional: margin above 40 %",
)
_STRATEGIC_VALUE = (
    "No strategic value beyond the fees",
    "Minor: occasional referral or case study",
    "Useful: a recognisable logo or a new capability for us",
    "Important: opens a sector or a partnership",
    "Flagship: defines where the agency is going",
)
_RELATIONSHIP_QUALITY = (
    "Adversarial: escalations, no trust",
    "Strained: frequent friction, slow decisions",
    "Workable: professional, transactional",
    "Good: open, collaborative, decisions on time",
    "Excellent: trusted advisor, senior sponsor engaged",
)
_PRODUCT_ADOPTION = (
    "Barely used: few active seats",
    "Low: under a third of seats active",
    "Moderate: core features used by most seats",
    "High: broad feature use, integrated in workflows",
    "Deep: product is central to how the client works",
)
_GROWTH_TRAJECTORY = (
    "Shrinking fast: churn risk",
    "Shrinking: contraction this year",
    "Flat: no growth expected",
    "Growing: expansion under way",
    "Accelerating: strong expansion pipeline",
)

TRACKS: dict[Track, tuple[Dimension, ...]] = {
    Track.MANAGED_DELIVERY: (
        Dimension("revenue", "Revenue", Decimal("0.35"), computed=True),
        Dimension("profitability", "Profitability", Decimal("0.25"), rubric=_PROFITABILITY),
        Dimension("strategic_value", "Strategic Value", Decimal("0.20"), rubric=_STRATEGIC_VALUE),
        Dimension("relationship_quality", "Relationship Quality", Decimal("0.20"), rubric=_RELATIONSHIP_QUALITY),
    ),
    Track.PRODUCT_SAAS: (
        Dimension("arr", "ARR", Decimal("0.40"), computed=True),
        Dimension("product_adoption", "Product Adoption", Decimal("0.20"), rubric=_PRODUCT_ADOPTION),
        Dimension("growth_trajectory", "Growth Trajectory", Decimal("0.20"), rubric=_GROWTH_TRAJECTORY),
        Dimension("relationship_quality", "Relationship Quality", Decimal("0.20"), rubric=_RELATIONSHIP_QUALITY),
    ),
}

# Every version ever in force, so a stored score can be explained with the weights it was computed with.
# A change of weights or bands is a new entry here and a new FRAMEWORK_VERSION.
FRAMEWORK_VERSIONS: dict[int, dict[Track, tuple[Dimension, ...]]] = {FRAMEWORK_VERSION: TRACKS}

# (band score, lower bound, upper bound or None) in base-currency major units: the one table of the
# bands; revenue_band_score, the recalculation's SQL and the band rule texts are all read from it.
# The lower bound is inclusive except in the top band, which starts strictly above it, so each upper
# bound is inclusive below the top band and exclusive further down.
REVENUE_BANDS: tuple[tuple[int, Decimal, Decimal | None], ...] = (
    (5, Decimal("300000"), None),  # strictly above 300,000
    (4, Decimal("150000"), Decimal("300000")),
    (3, Decimal("75000"), Decimal("150000")),
    (2, Decimal("30000"), Decimal("75000")),
    (1, Decimal("0"), Decimal("30000")),
)

TIER_FLOORS: tuple[tuple[Tier, Decimal], ...] = (
    (Tier.PLATINUM, Decimal("4.0")),
    (Tier.CORE, Decimal("3.0")),
    (Tier.STANDARD, Decimal("2.0")),
    (Tier.REVIEW, Decimal("-Infinity")),
)


Bands = tuple[tuple[int, Decimal, Decimal | None], ...]


def revenue_band_score(revenue: Decimal, bands: Bands = REVENUE_BANDS) -> int:
    """Band score of trailing-12-month revenue R by ``REVENUE_BANDS``: 5 if R > 300,000; 4 if
    150,000 ≤ R ≤ 300,000; 3 if 75,000 ≤ R < 150,000; 2 if 30,000 ≤ R < 75,000; 1 below 30,000
    (or by another framework version's bands).
    """
    top_score, top_floor, _ = bands[0]
    if revenue > top_floor:
        return top_score
    for score, low, _high in bands[1:]:
        if revenue >= low:
            return score
    return bands[-1][0]  # negative revenue (credit notes outweigh invoices) is the lowest band too


def revenue_band_rule(score: int, bands: Bands = REVENUE_BANDS) -> str:
    """The band's rule as people read it, written from ``REVENUE_BANDS`` (e.g. ``75,000 ≤ R < 150,000``)."""
    top_score, top_floor, _ = bands[0]
    lowest_score = bands[-1][0]
    low, high = next((low, high) for band, low, high in bands if band == score)
    if score == top_score:
        return f"R > {low:,}"
    upper = f"R ≤ {high:,}" if high == top_floor else f"R < {high:,}"
    if score == lowest_score:
        return upper
    return f"{low:,} ≤ {upper}"


def tier_for_score(score: Decimal) -> Tier:
    """Platinum ≥ 4.0, Core ≥ 3.0, Standard ≥ 2.0, Review below."""
    for tier, floor in TIER_FLOORS:
        if score >= floor:
            return tier
    return Tier.REVIEW


def weighted_score(track: Track, ratings: dict[str, int]) -> Decimal:
    """Σ weight × rating over the track's dimensions (every dimension must be rated 1–5)."""
    total = Decimal("0")
    for dimension in TRACKS[track]:
        rating = ratings[dimension.key]
        if not LOWEST_RATING <= rating <= HIGHEST_RATING:
            raise ValueError(f"{dimension.key} must be rated {LOWEST_RATING}–{HIGHEST_RATING}, got {rating}")
        total += dimension.weight * rating
    return total


Tracks = dict[Track, tuple[Dimension, ...]]


def money_dimension(track: Track, tracks: Tracks = TRACKS) -> Dimension:
    """The computed (money) dimension of a track: Revenue or ARR."""
    return next(d for d in tracks[track] if d.computed)


def human_dimensions(track: Track, tracks: Tracks = TRACKS) -> tuple[Dimension, ...]:
    """The dimensions people rate on a track."""
    return tuple(d for d in tracks[track] if not d.computed)


def human_points(track: Track, ratings: dict[str, int], tracks: Tracks = TRACKS) -> Decimal:
    """Σ weight × rating over the human dimensions only (the part a recalculation keeps)."""
    return sum((d.weight * ratings[d.key] for d in human_dimensions(track, tracks)), Decimal("0"))


@dataclass(frozen=True, slots=True)
class Framework:
    """One version of the framework: the tracks' weighted dimensions and the revenue bands (the tier
    floors never change). Version 1 is the code's tables; later ones are published proposals."""

    version: int
    tracks: Tracks
    revenue_bands: Bands

    def weights(self, track: Track) -> dict[str, str]:
        """The weights of a track as a receipt records them."""
        return {d.key: str(d.weight) for d in self.tracks[track]}

    def band_floors(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The revenue floors of bands 5 (exclusive), 4, 3 and 2, in base-currency major units."""
        lows = {score: low for score, low, _high in self.revenue_bands}
        return lows[5], lows[4], lows[3], lows[2]


BUILT_IN = Framework(FRAMEWORK_VERSION, TRACKS, REVENUE_BANDS)


def bands_from_floors(floors: tuple[Decimal, Decimal, Decimal, Decimal]) -> Bands:
    """The band table of four floors (band 5 strictly above the first; band 1 below the last)."""
    b5, b4, b3, b2 = floors
    return ((5, b5, None), (4, b4, b5), (3, b3, b4), (2, b2, b3), (1, Decimal("0"), b2))


def framework_of(version: int, weights: dict[str, dict[str, str]], floors: list[str]) -> Framework:
    """A stored version (weights per track and dimension, four band floors) as a Framework; the dimensions'
    labels and rubrics are the code's."""
    tracks = {
        track: tuple(
            Dimension(d.key, d.label, Decimal(weights[track.value][d.key]), d.computed, d.rubric) for d in dimensions
        )
        for track, dimensions in TRACKS.items()
    }
    b5, b4, b3, b2 = (Decimal(value) for value in floors)
    return Framework(version, tracks, bands_from_floors((b5, b4, b3, b2)))
