"""The deterministic analyzer: fatigue, meaningful spend, currencies, alerts, performers, findings, quick wins."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from insights_testkit import campaign

from clientpulse.insights.domain.analysis import Severity
from clientpulse.insights.domain.analyzer import analyse_week
from clientpulse.insights.domain.currency_week import has_meaningful_spend
from clientpulse.insights.domain.frequency import is_fatigued
from clientpulse.insights.domain.thresholds import DEFAULT_THRESHOLDS
from clientpulse.insights.domain.weeks import IsoWeek

WEEK = IsoWeek(2026, 48)
D = Decimal
T = DEFAULT_THRESHOLDS


@pytest.mark.parametrize(
    ("frequency", "fatigued"),
    [(None, False), ("2.99", False), ("3.0", False), ("3.00", False), ("3.01", True), ("7.5", True)],
)
def test_fatigue_is_a_seven_day_frequency_above_three(frequency: str | None, fatigued: bool) -> None:
    assert is_fatigued(None if frequency is None else D(frequency), T) is fatigued


@pytest.mark.parametrize(
    ("spend", "total", "meaningful"),
    [(0, 1000, False), (49, 1000, False), (50, 1000, True), (1000, 1000, True)],
)
def test_meaningful_spend_is_five_percent_of_the_currency(spend: int, total: int, meaningful: bool) -> None:
    assert has_meaningful_spend(spend, total, T) is meaningful


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
