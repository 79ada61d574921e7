"""The health score: its components, their weights across currencies, and the status bands."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from insights_testkit import campaign

from clientpulse.insights.domain.currency_week import currency_weeks
from clientpulse.insights.domain.health import (
    analysis_status,
    cpa_trend_points,
    health_score,
    roas_points,
    share_points,
)
from clientpulse.insights.domain.thresholds import DEFAULT_THRESHOLDS

D = Decimal
T = DEFAULT_THRESHOLDS


@pytest.mark.parametrize(
    ("score", "status"),
    [(100, "good"), (70, "good"), (69, "warning"), (40, "warning"), (39, "critical"), (0, "critical")],
)
def test_status_bands_at_70_and_40(score: int, status: str) -> None:
    assert analysis_status(score) == status


@pytest.mark.parametrize(
    ("roas", "points"),
    [("0", "0"), ("1", "10"), ("2", "20"), ("3.5", "35"), ("4.0", "40"), ("9.3", "40")],
)
def test_roas_component_reaches_full_points_at_roas_four(roas: str, points: str) -> None:
    assert roas_points(D(roas), T) == D(points)


@pytest.mark.parametrize(
    ("change", "points"),
    [(None, "0"), ("-0.3", "20"), ("0", "20"), ("0.1", "16"), ("0.25", "10"), ("0.5", "0"), ("1.2", "0")],
)
def test_cpa_trend_component_loses_points_as_cpa_rises(change: str | None, points: str) -> None:
    assert cpa_trend_points(None if change is None else D(change), T) == D(points)


@pytest.mark.parametrize(("share", "points"), [("0", "20"), ("0.25", "15"), ("1", "0")])
def test_share_components_are_twenty_times_the_unaffected_share(share: str, points: str) -> None:
    assert share_points("fatigue", D(share)) == D(points)
    assert share_points("wasted_spend", D(share)) == D(points)


def test_health_score_adds_the_components_it_shows() -> None:
    # EUR: ROAS 3.0 → 30; CPA 40.00 → 50.00 (+25 %) → 10; fatigued 20 % → 16; no conversions 20 % → 16.
    current = [
        campaign("a", spend=60_000, revenue=270_000, conversions=20),
        campaign("b", spend=20_000, revenue=30_000, conversions=0, frequency="3.4"),  # fatigued and no conversions
        campaign("c", spend=20_000, revenue=0, conversions=0),
    ]
    # Blended: spend 1,000.00, revenue 3,000.00, 20 conversions → CPA 50.00; week before CPA 40.00.
    previous = [campaign("a", spend=80_000, revenue=200_000, conversions=20)]
    health = health_score(currency_weeks(current, previous), T)
    points = {c.key: c.points for c in health.components}
    assert points == {"roas": D("30.0"), "cpa_trend": D("10.0"), "fatigue": D("16.0"), "wasted_spend": D("12.0")}
    # Spend without conversions is b and c: 40 % → 12 points. 30 + 10 + 16 + 12 = 68 of 100.
    assert (health.score, health.status, health.points_available) == (68, "warning", 100)
    assert all(c.applicable for c in health.components)


def test_components_that_do_not_apply_leave_the_points_available() -> None:
    # Leads only (no revenue tracked), no week before: only fatigue and wasted spend apply (40 points).
    current = [campaign("lead", spend=10_000, conversions=4), campaign("idle", spend=10_000, conversions=0)]
    health = health_score(currency_weeks(current, []), T)
    applicable = {c.key: c.applicable for c in health.components}
    assert applicable == {"roas": False, "cpa_trend": False, "fatigue": True, "wasted_spend": True}
    assert health.points_available == 40
    assert health.score == 75  # 20 + 10 of 40


def test_currencies_are_scored_apart_and_weighted_by_their_campaigns() -> None:
    current = [
        campaign("e1", spend=100_000, revenue=400_000, conversions=5),  # EUR ROAS 4.0 → 40
        campaign("e2", spend=100_000, revenue=400_000, conversions=5),
        campaign("j1", spend=1_000_000, revenue=0, conversions=0, currency="JPY"),  # JPY ROAS 0 → 0
    ]
    health = health_score(currency_weeks(current, []), T)
    roas = next(c for c in health.components if c.key == "roas")
    assert [(b.currency, b.campaigns, b.value, b.points) for b in roas.by_currency] == [
        ("EUR", 2, D("4.00"), D("40.0")),
        ("JPY", 1, D("0.00"), D("0.0")),
    ]
    assert roas.points == D("26.7")  # (40 × 2 + 0 × 1) ÷ 3, not a ROAS of summed yen and cents
