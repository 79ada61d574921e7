"""Pure rules: submitted ratings, money in the base currency, effective tier, staleness, trend,
recalculation periods and the portfolio rollup."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.money import ExchangeRate, MissingRate, RateTable, major_units
from clientpulse.shared.ratings import ratings_are_stale
from clientpulse.tiering.domain.framework import Track
from clientpulse.tiering.domain.portfolio import MemberFacts, revenue_weighted_mean, rollup
from clientpulse.tiering.domain.recalculation import parse_period, resolve_period, revenue_window
from clientpulse.tiering.domain.scoring import (
    InvalidRatings,
    check_ratings,
    compute_score,
    effective_tier,
    parse_track,
    score_trend,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
MANAGED = {"profitability": 4, "strategic_value": 3, "relationship_quality": 3}
SAAS = {"product_adoption": 4, "growth_trajectory": 3, "relationship_quality": 4}


@pytest.mark.parametrize(
    ("track", "ratings", "complaint"),
    [
        (Track.MANAGED_DELIVERY, {**MANAGED, "profitability": 6}, "profitability must be an integer from 1 to 5"),
        (Track.MANAGED_DELIVERY, {**MANAGED, "profitability": 0}, "profitability must be an integer from 1 to 5"),
        (Track.MANAGED_DELIVERY, {"profitability": 4, "strategic_value": 3}, "missing ratings: relationship_quality"),
        (Track.MANAGED_DELIVERY, {**MANAGED, "revenue": 5}, "revenue is computed"),
        (Track.PRODUCT_SAAS, {**SAAS, "arr": 5}, "arr is computed"),
        (Track.PRODUCT_SAAS, MANAGED, "unknown dimensions for product_saas: profitability, strategic_value"),
        (Track.MANAGED_DELIVERY, {**MANAGED, "profitability": True}, "profitability"),
    ],
)
def test_ratings_that_do_not_fit_the_track_are_refused(track: Track, ratings: dict, complaint: str) -> None:
    with pytest.raises(InvalidRatings, match=complaint):
        check_ratings(track, ratings)


def test_unknown_tracks_name_the_valid_ones() -> None:
    with pytest.raises(InvalidRatings, match="managed_delivery, product_saas"):
        parse_track("enterprise")


@pytest.mark.parametrize(
    ("track", "ratings", "revenue", "band", "score", "tier"),
    [
        (Track.MANAGED_DELIVERY, MANAGED, "300000", 4, "3.60", Tier.CORE),
        (Track.MANAGED_DELIVERY, MANAGED, "300000.01", 5, "3.95", Tier.CORE),  # 3.95 is Core, never rounded up
        (Track.MANAGED_DELIVERY, {"profitability": 5, "strategic_value": 3, "relationship_quality": 2}, "300000.01",
         5, "4.00", Tier.PLATINUM),
        (Track.MANAGED_DELIVERY, {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}, "29999.99",
         1, "1.00", Tier.REVIEW),
        (Track.PRODUCT_SAAS, SAAS, "75000", 3, "3.40", Tier.CORE),
        (Track.PRODUCT_SAAS, SAAS, "30000", 2, "3.00", Tier.CORE),
        (Track.PRODUCT_SAAS, SAAS, "29999.99", 1, "2.60", Tier.STANDARD),
    ],
)  # fmt: skip
def test_both_tracks_band_revenue_and_score_exactly(
    track: Track, ratings: dict, revenue: str, band: int, score: str, tier: Tier
) -> None:
    computed = compute_score(track, check_ratings(track, ratings), Decimal(revenue))
    assert (computed.money_rating, computed.score, computed.tier) == (band, Decimal(score), tier)


def test_dated_rates_convert_minor_units_into_the_base_currency() -> None:
    rates = RateTable(
        "EUR",
        [
            ExchangeRate("USD", date(2026, 1, 1), Decimal("0.90")),
            ExchangeRate("USD", date(2026, 7, 1), Decimal("0.80")),
            ExchangeRate("JPY", date(2026, 1, 1), Decimal("0.0060")),
        ],
    )
    assert rates.to_base_minor(10_000, "EUR", date(2020, 1, 1)) == 10_000
    assert rates.to_base_minor(10_000, "USD", date(2026, 6, 30)) == 9_000
    assert rates.to_base_minor(10_000, "USD", date(2026, 7, 1)) == 8_000  # the new rate from its first day
    assert rates.to_base_minor(10_000, "JPY", date(2026, 3, 1)) == 6_000  # ¥10,000 (no minor unit) → €60.00
    with pytest.raises(MissingRate, match="USD→EUR"):
        rates.to_base_minor(100, "USD", date(2025, 12, 31))
    with pytest.raises(MissingRate, match="GBP"):
        rates.to_base_minor(100, "GBP", date(2026, 3, 1))
    assert major_units(30_000_001, "EUR") == Decimal("300000.01")


@pytest.mark.parametrize(
    ("override", "expires_at", "effective"),
    [
        (None, None, Tier.CORE),
        (Tier.PLATINUM, None, Tier.PLATINUM),
        (Tier.PLATINUM, NOW + timedelta(seconds=1), Tier.PLATINUM),
        (Tier.PLATINUM, NOW, Tier.CORE),  # expired at that instant: the computed tier again
    ],
)
def test_an_override_holds_until_it_expires(
    override: Tier | None, expires_at: datetime | None, effective: Tier
) -> None:
    assert effective_tier(Tier.CORE, override, expires_at, NOW) is effective


@pytest.mark.parametrize(("age_days", "stale"), [(0, False), (90, False), (91, True)])
def test_ratings_older_than_90_days_are_stale(age_days: int, stale: bool) -> None:
    assert ratings_are_stale(NOW - timedelta(days=age_days), NOW) is stale


@pytest.mark.parametrize(
    ("scores", "trend"),
    [([], "none"), (["3.0"], "new"), (["3.0", "3.5"], "up"), (["3.5", "3.0"], "down"), (["2", "3.0", "3.00"], "flat")],
)
def test_trend_compares_the_latest_score_with_the_one_before(scores: list[str], trend: str) -> None:
    assert score_trend([Decimal(s) for s in scores]) == trend


@pytest.mark.parametrize(
    ("period", "window"),
    [
        ("2026-11", (date(2025, 12, 1), date(2026, 11, 30))),
        ("2026-12", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2028-02", (date(2027, 3, 1), date(2028, 2, 29))),
    ],
)
def test_a_period_recalculates_on_the_12_months_ending_with_it(period: str, window: tuple[date, date]) -> None:
    assert revenue_window(period) == window


@pytest.mark.parametrize(
    ("value", "now", "period"),
    [
        ("previous", datetime(2026, 12, 1, 2, tzinfo=UTC), "2026-11"),  # the CronJob on the 1st at 02:00
        ("previous", datetime(2027, 1, 1, 2, tzinfo=UTC), "2026-12"),
        ("current", datetime(2026, 12, 1, 2, tzinfo=UTC), "2026-12"),
        ("2026-12", datetime(2026, 12, 1, 2, tzinfo=UTC), "2026-12"),
        ("2020-01", datetime(2026, 12, 1, 2, tzinfo=UTC), "2020-01"),
    ],
)
def test_periods_resolve_from_the_cronjobs_words(value: str, now: datetime, period: str) -> None:
    assert resolve_period(value, now) == period


def test_a_month_that_has_not_started_cannot_be_recalculated() -> None:
    with pytest.raises(ValueError, match="has not started"):
        resolve_period("2027-01", datetime(2026, 12, 31, 23, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-12", "2026-1", "december"])
def test_malformed_periods_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="2026-12"):
        parse_period(bad)


def test_ratings_are_weighted_by_revenue_and_fall_back_to_a_plain_mean() -> None:
    assert revenue_weighted_mean([(300, 5), (100, 1)]) == Decimal(4)
    assert revenue_weighted_mean([(0, 5), (0, 2)]) == Decimal("3.5")
    assert revenue_weighted_mean([(-500, 1), (100, 4)]) == Decimal(4)  # net credit notes carry no weight


def test_the_portfolio_takes_the_parents_track_and_counts_every_members_tier() -> None:
    members = [
        MemberFacts("p", "Parent", 0, "product_saas", {"product_adoption": 5, "growth_trajectory": 5,
                                                       "relationship_quality": 5}, "Platinum"),
        MemberFacts("a", "A", 20_000_000, "product_saas", {"product_adoption": 3, "growth_trajectory": 3,
                                                           "relationship_quality": 3}, "Core"),
        MemberFacts("b", "B", 12_000_000, "managed_delivery", MANAGED, "Core"),
        MemberFacts("c", "C", 0, None, None, None),
    ]  # fmt: skip
    portfolio = rollup(members, "product_saas", "EUR")
    assert portfolio.combined_revenue_minor == 32_000_000  # EUR 320,000 → band 5
    assert portfolio.band == 5
    assert portfolio.human_ratings == {"product_adoption": 3, "growth_trajectory": 3, "relationship_quality": 3}
    assert (portfolio.score, portfolio.tier) == (Decimal("3.80"), Tier.CORE)  # 0.4×5 + 0.6×3
    assert portfolio.tier_distribution == {"Platinum": 1, "Core": 2, "Unscored": 1}
