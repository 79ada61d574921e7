"""The tier formula's boundaries (docs/domain-rules.md, "Tier scoring")."""

from decimal import Decimal

import pytest

from clientpulse.shared.contracts.events import Tier
from clientpulse.tiering.domain.framework import TRACKS, Track, revenue_band_score, tier_for_score, weighted_score


@pytest.mark.parametrize(
    ("revenue", "band"),
    [
        ("0", 1),
        ("29999.99", 1),
        ("30000", 2),
        ("74999.99", 2),
        ("75000", 3),
        ("149999.99", 3),
        ("150000", 4),
        ("300000", 4),
        ("300000.01", 5),
        ("-500", 1),  # net credit notes
    ],
)
def test_revenue_band_boundaries(revenue: str, band: int) -> None:
    assert revenue_band_score(Decimal(revenue)) == band


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        ("1.0", Tier.REVIEW),
        ("1.95", Tier.REVIEW),
        ("2.0", Tier.STANDARD),
        ("2.95", Tier.STANDARD),
        ("3.0", Tier.CORE),
        ("3.95", Tier.CORE),
        ("4.0", Tier.PLATINUM),
        ("5.0", Tier.PLATINUM),
    ],
)
def test_tier_boundaries(score: str, tier: Tier) -> None:
    assert tier_for_score(Decimal(score)) is tier


@pytest.mark.parametrize("track", list(Track))
def test_weights_of_each_track_sum_to_one(track: Track) -> None:
    assert sum(d.weight for d in TRACKS[track]) == Decimal("1.00")
    assert sum(1 for d in TRACKS[track] if d.computed) == 1


def test_managed_delivery_score_is_exact_and_not_rounded() -> None:
    ratings = {"revenue": 4, "profitability": 4, "strategic_value": 4, "relationship_quality": 3}
    assert weighted_score(Track.MANAGED_DELIVERY, ratings) == Decimal("3.80")
    ratings = {"revenue": 5, "profitability": 4, "strategic_value": 3, "relationship_quality": 3}
    assert weighted_score(Track.MANAGED_DELIVERY, ratings) == Decimal("3.95")
    assert tier_for_score(weighted_score(Track.MANAGED_DELIVERY, ratings)) is Tier.CORE


def test_product_saas_score() -> None:
    ratings = {"arr": 5, "product_adoption": 4, "growth_trajectory": 3, "relationship_quality": 4}
    assert weighted_score(Track.PRODUCT_SAAS, ratings) == Decimal("4.20")


@pytest.mark.parametrize("bad", [0, 6])
def test_ratings_outside_one_to_five_are_refused(bad: int) -> None:
    ratings = {"revenue": 3, "profitability": bad, "strategic_value": 3, "relationship_quality": 3}
    with pytest.raises(ValueError, match="profitability"):
        weighted_score(Track.MANAGED_DELIVERY, ratings)
