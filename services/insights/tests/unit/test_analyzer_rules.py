"""The deterministic analyzer's rules: score components, status bands, budget rules, fatigue, currencies."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from insights_testkit import campaign

from clientpulse.insights.domain.analysis import BudgetAction, Severity
from clientpulse.insights.domain.analyzer import (
    CurrencyWeek,
    analyse_week,
    budget_rule,
    cpa_trend_points,
    currency_weeks,
    has_meaningful_spend,
    health_score,
    is_fatigued,
    roas_points,
    share_points,
)
from clientpulse.insights.domain.health import analysis_status
from clientpulse.insights.domain.weeks import IsoWeek

WEEK = IsoWeek(2026, 48)
D = Decimal


@pytest.mark.parametrize(
    ("frequency", "fatigued"),
    [(None, False), ("2.99", False), ("3.0", False), ("3.00", False), ("3.01", True), ("7.5", True)],
)
def test_fatigue_is_a_seven_day_frequency_above_three(frequency: str | None, fatigued: bool) -> None:
    assert is_fatigued(None if frequency is None else D(frequency)) is fatigued


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
    assert roas_points(D(roas)) == D(points)


@pytest.mark.parametrize(
    ("change", "points"),
    [(None, "0"), ("-0.3", "20"), ("0", "20"), ("0.1", "16"), ("0.25", "10"), ("0.5", "0"), ("1.2", "0")],
)
def test_cpa_trend_component_loses_points_as_cpa_rises(change: str | None, points: str) -> None:
    assert cpa_trend_points(None if change is None else D(change)) == D(points)


@pytest.mark.parametrize(("share", "points"), [("0", "20"), ("0.25", "15"), ("1", "0")])
def test_share_components_are_twenty_times_the_unaffected_share(share: str, points: str) -> None:
    assert share_points("fatigue", D(share)) == D(points)
    assert share_points("wasted_spend", D(share)) == D(points)


@pytest.mark.parametrize(
    ("spend", "total", "meaningful"),
    [(0, 1000, False), (49, 1000, False), (50, 1000, True), (1000, 1000, True)],
)
def test_meaningful_spend_is_five_percent_of_the_currency(spend: int, total: int, meaningful: bool) -> None:
    assert has_meaningful_spend(spend, total) is meaningful


def test_health_score_adds_the_components_it_shows() -> None:
    # EUR: ROAS 3.0 → 30; CPA 40.00 → 50.00 (+25 %) → 10; fatigued 20 % → 16; no conversions 20 % → 16.
    current = [
        campaign("a", spend=60_000, revenue=270_000, conversions=20),
        campaign("b", spend=20_000, revenue=30_000, conversions=0, frequency="3.4"),  # fatigued and no conversions
        campaign("c", spend=20_000, revenue=0, conversions=0),
    ]
    # Blended: spend 1,000.00, revenue 3,000.00, 20 conversions → CPA 50.00; week before CPA 40.00.
    previous = [campaign("a", spend=80_000, revenue=200_000, conversions=20)]
    health = health_score(currency_weeks(current, previous))
    points = {c.key: c.points for c in health.components}
    assert points == {"roas": D("30.0"), "cpa_trend": D("10.0"), "fatigue": D("16.0"), "wasted_spend": D("12.0")}
    # Spend without conversions is b and c: 40 % → 12 points. 30 + 10 + 16 + 12 = 68 of 100.
    assert (health.score, health.status, health.points_available) == (68, "warning", 100)
    assert all(c.applicable for c in health.components)


def test_components_that_do_not_apply_leave_the_points_available() -> None:
    # Leads only (no revenue tracked), no week before: only fatigue and wasted spend apply (40 points).
    current = [campaign("lead", spend=10_000, conversions=4), campaign("idle", spend=10_000, conversions=0)]
    health = health_score(currency_weeks(current, []))
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
    health = health_score(currency_weeks(current, []))
    roas = next(c for c in health.components if c.key == "roas")
    assert [(b.currency, b.campaigns, b.value, b.points) for b in roas.by_currency] == [
        ("EUR", 2, D("4.00"), D("40.0")),
        ("JPY", 1, D("0.00"), D("0.0")),
    ]
    assert roas.points == D("26.7")  # (40 × 2 + 0 × 1) ÷ 3, not a ROAS of summed yen and cents


def test_amounts_of_different_currencies_are_never_added() -> None:
    current = [
        campaign("e1", spend=150_000, revenue=300_000, conversions=3),
        campaign("u1", spend=250_000, revenue=1_000_000, conversions=10, currency="USD", connection_id="conn-g"),
        campaign("j1", spend=90_000, revenue=450_000, conversions=9, currency="JPY", connection_id="conn-t"),
    ]
    analysis = analyse_week("c-1", WEEK, current, [])
    assert analysis is not None
    totals = {t.currency: (t.spend_minor, t.revenue_minor, t.roas) for t in analysis.totals}
    assert totals == {
        "EUR": (150_000, 300_000, D("2.00")),
        "JPY": (90_000, 450_000, D("5.00")),
        "USD": (250_000, 1_000_000, D("4.00")),
    }
    assert "JPY 90,000" in analysis.summary and "EUR 1,500.00" in analysis.summary
    for recommendation in analysis.budget_recommendations:
        assert recommendation.currency == next(
            c.currency for c in current if c.campaign_id == recommendation.campaign_id
        )


def group_of(*campaigns, previous=()) -> CurrencyWeek:
    (group,) = currency_weeks(campaigns, previous)
    return group


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("loser_two_weeks", (BudgetAction.PAUSE, "no_conversions_two_weeks")),
        ("loser_this_week", (BudgetAction.DECREASE, "no_conversions_this_week")),
        ("tired", (BudgetAction.TEST, "frequency_fatigue")),
        ("weak", (BudgetAction.DECREASE, "roas_well_below_account")),
        ("star", (BudgetAction.INCREASE, "roas_well_above_account")),
        ("seedling", (BudgetAction.TEST, "promising_low_spend")),
        ("steady", None),
        ("at_three", None),
        ("paused_loser", None),
    ],
)
def test_budget_rules(name: str, expected: tuple[BudgetAction, str] | None) -> None:
    campaigns = {
        "loser_two_weeks": campaign("loser_two_weeks", spend=100_000, conversions=0),
        "loser_this_week": campaign("loser_this_week", spend=100_000, conversions=0),
        "tired": campaign("tired", spend=100_000, revenue=300_000, conversions=10, frequency="3.2"),
        "weak": campaign("weak", spend=100_000, revenue=100_000, conversions=4),  # ROAS 1.0
        "star": campaign("star", spend=100_000, revenue=800_000, conversions=30),  # ROAS 8.0
        "seedling": campaign("seedling", spend=10_000, revenue=100_000, conversions=2),  # ROAS 10 on < 5 %
        "steady": campaign("steady", spend=200_000, revenue=600_000, conversions=20),  # near the blend
        "at_three": campaign("at_three", spend=200_000, revenue=600_000, conversions=20, frequency="3.0"),
        "paused_loser": campaign("paused_loser", spend=100_000, conversions=0, status="PAUSED"),
    }
    previous = [
        campaign("loser_two_weeks", spend=50_000, conversions=0),
        campaign("loser_this_week", spend=50_000, revenue=100_000, conversions=3),
    ]
    group = group_of(*campaigns.values(), previous=previous)
    before = {c.campaign_id: c for c in previous}
    assert budget_rule(campaigns[name], group, before.get(name)) == expected


def test_without_revenue_tracking_budget_rules_judge_cpa() -> None:
    cheap = campaign("cheap", spend=100_000, conversions=20)  # CPA 50.00
    dear = campaign("dear", spend=100_000, conversions=4)  # CPA 250.00
    middle = campaign("middle", spend=100_000, conversions=10)  # CPA 100.00; blended CPA 300,000 ÷ 34
    group = group_of(cheap, dear, middle)
    assert budget_rule(cheap, group, None) == (BudgetAction.INCREASE, "cpa_well_below_account")
    assert budget_rule(dear, group, None) == (BudgetAction.DECREASE, "cpa_well_above_account")
    assert budget_rule(middle, group, None) is None


def test_frequency_alerts_take_only_campaigns_above_three() -> None:
    current = [
        campaign("at", spend=50_000, revenue=100_000, conversions=2, frequency="3.0", creative="Exactly three"),
        campaign("over", spend=50_000, revenue=100_000, conversions=2, frequency="3.6", creative="Seen it"),
        campaign("way_over", spend=50_000, revenue=100_000, conversions=2, frequency="5.1"),
    ]
    analysis = analyse_week("c-1", WEEK, current, [])
    assert analysis is not None
    assert [(a.campaign_id, a.seven_day_frequency) for a in analysis.frequency_alerts] == [
        ("way_over", D("5.1")),
        ("over", D("3.6")),
    ]
    assert [(i.kind, i.creative_title) for i in analysis.creative_insights if i.kind == "fatigued"] == [
        ("fatigued", "Seen it")
    ]
    assert "at" not in {r.campaign_id for r in analysis.budget_recommendations if r.rule == "frequency_fatigue"}


def test_performers_are_ranked_by_roas_among_meaningful_spend_with_their_creatives() -> None:
    current = [
        campaign("best", spend=100_000, revenue=600_000, conversions=10, creative="Snow boots"),
        campaign("good", spend=100_000, revenue=400_000, conversions=10, creative="Scarves"),
        campaign("poor", spend=100_000, revenue=100_000, conversions=2, creative="Logo"),
        campaign("tiny", spend=1_000, revenue=50_000, conversions=1, creative="Lucky"),  # < 5 %: not ranked
    ]
    analysis = analyse_week("c-1", WEEK, current, [])
    assert analysis is not None
    assert [(p.campaign_id, p.roas) for p in analysis.top_performers] == [("best", D("6.00")), ("good", D("4.00"))]
    assert [(p.campaign_id, p.roas) for p in analysis.under_performers] == [("poor", D("1.00"))]
    # Blended: 11,500.00 revenue on 3,010.00 spend, the small campaign included.
    assert "ROAS 6.00 against 3.82 for all EUR campaigns" in analysis.top_performers[0].reasoning
    creatives = {(i.kind, i.creative_title) for i in analysis.creative_insights}
    assert {("best", "Snow boots"), ("best", "Scarves"), ("worst", "Logo")} <= creatives
    assert all(i.creative_title != "Lucky" for i in analysis.creative_insights)


def test_findings_carry_severity_and_the_numbers_behind_them() -> None:
    current = [
        campaign("a", spend=40_000, revenue=20_000, conversions=2),
        campaign("b", spend=60_000, revenue=0, conversions=0, frequency="4.0"),
    ]
    previous = [campaign("a", spend=40_000, revenue=80_000, conversions=8)]
    analysis = analyse_week("c-1", WEEK, current, previous)
    assert analysis is not None
    by_code = {f.code: f for f in analysis.findings}
    assert by_code["roas_below_break_even"].severity is Severity.CRITICAL
    assert "Blended ROAS 0.20" in by_code["roas_below_break_even"].detail
    assert by_code["fatigued_spend"].severity is Severity.CRITICAL  # 60 % of spend
    assert by_code["spend_without_conversions"].campaign_ids == ["b"]
    assert by_code["cpa_rising"].severity is Severity.CRITICAL  # 50.00 → 500.00
    assert [f.id for f in analysis.findings] == [f"F{i}" for i in range(1, len(analysis.findings) + 1)]
    severities = [f.severity for f in analysis.findings]
    assert severities == sorted(severities, key=[Severity.CRITICAL, Severity.WARNING, Severity.INFO].index)


@pytest.mark.parametrize(
    "current",
    [
        [campaign("only", spend=10_000, revenue=40_000, conversions=2)],
        [campaign("x", spend=10_000, conversions=0), campaign("y", spend=10_000, revenue=5_000, conversions=1)],
    ],
)
def test_two_or_three_quick_wins_whatever_the_week(current) -> None:
    analysis = analyse_week("c-1", WEEK, current, [])
    assert analysis is not None
    assert 2 <= len(analysis.quick_wins) <= 3
    assert len({w.code for w in analysis.quick_wins}) == len(analysis.quick_wins)


def test_a_week_without_spend_is_not_analysed() -> None:
    assert analyse_week("c-1", WEEK, [], []) is None
    assert analyse_week("c-1", WEEK, [campaign("off", spend=0)], [campaign("off", spend=5_000)]) is None


def test_the_analysis_names_the_week_and_the_week_before() -> None:
    analysis = analyse_week("c-1", IsoWeek(2026, 1), [campaign("a", spend=1_000, revenue=2_000, conversions=1)], [])
    assert analysis is not None
    assert (analysis.week, str(analysis.start), str(analysis.end)) == ("2026-W01", "2025-12-29", "2026-01-04")
    assert (analysis.previous_week, str(analysis.previous_start)) == ("2025-W52", "2025-12-22")
    assert analysis.prose.generated_by == "deterministic"
