"""The budget rules: which one fires for a campaign, in order of urgency."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from insights_testkit import campaign

from clientpulse.insights.domain.analysis import BudgetAction
from clientpulse.insights.domain.budget import budget_rule
from clientpulse.insights.domain.currency_week import CurrencyWeek, currency_weeks
from clientpulse.insights.domain.thresholds import DEFAULT_THRESHOLDS

T = DEFAULT_THRESHOLDS


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
    assert budget_rule(campaigns[name], group, before.get(name), T) == expected


def test_without_revenue_tracking_budget_rules_judge_cpa() -> None:
    cheap = campaign("cheap", spend=100_000, conversions=20)  # CPA 50.00
    dear = campaign("dear", spend=100_000, conversions=4)  # CPA 250.00
    middle = campaign("middle", spend=100_000, conversions=10)  # CPA 100.00; blended CPA 300,000 ÷ 34
    group = group_of(cheap, dear, middle)
    assert budget_rule(cheap, group, None, T) == (BudgetAction.INCREASE, "cpa_well_below_account")
    assert budget_rule(dear, group, None, T) == (BudgetAction.DECREASE, "cpa_well_above_account")
    assert budget_rule(middle, group, None, T) is None
