"""The analysis's thresholds live in the insights settings, and every rule that fired is listed with them."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parents[1]))
from insights_testkit import campaign

from clientpulse.insights.domain.analysis import RuleFired, WeeklyAnalysis
from clientpulse.insights.domain.analyzer import analyse_week
from clientpulse.insights.domain.thresholds import DEFAULT_THRESHOLDS, AnalysisThresholds
from clientpulse.insights.domain.weeks import IsoWeek
from clientpulse.insights.settings import InsightsSettings

WEEK = IsoWeek(2026, 48)
D = Decimal

# One campaign seen 3.4 times in seven days, beside one that is not: fatigue at the default 3.0.
TIRED_WEEK = [
    campaign("tired", spend=100_000, revenue=300_000, conversions=10, frequency="3.4"),
    campaign("fresh", spend=100_000, revenue=300_000, conversions=10, frequency="1.2"),
]


def fired(analysis: WeeklyAnalysis | None) -> dict[tuple[str, str], dict]:
    assert analysis is not None
    return {(r.rule, r.subject): r.model_dump() for r in analysis.rules_fired}


def fired_rules(analysis: WeeklyAnalysis | None) -> list[RuleFired]:
    assert analysis is not None
    return analysis.rules_fired


def test_a_rule_that_fires_is_listed_with_its_thresholds_and_what_it_produced() -> None:
    analysis = analyse_week("c-1", WEEK, TIRED_WEEK, [])
    rules = fired(analysis)
    assert analysis is not None
    budget = rules[("frequency_fatigue", "conn-meta/tired")]
    assert budget["kind"] == "budget_recommendation" and budget["currency"] == "EUR"
    assert budget["thresholds"] == {"meaningful_spend_share": D("0.05"), "fatigue_frequency": D("3.0")}
    (recommendation,) = [r for r in analysis.budget_recommendations if r.id == budget["output_id"]]
    assert (recommendation.campaign_id, recommendation.rule) == ("tired", "frequency_fatigue")
    finding = rules[("fatigued_spend", "EUR")]
    assert finding["thresholds"] == {"fatigue_frequency": D("3.0"), "fatigued_spend_critical_share": D("0.5")}
    assert next(f for f in analysis.findings if f.id == finding["output_id"]).code == "fatigued_spend"
    assert rules[("frequency_alert", "conn-meta/tired")]["thresholds"] == {"fatigue_frequency": D("3.0")}
    assert not any(subject == "conn-meta/fresh" for _, subject in rules)
    assert analysis.rules == DEFAULT_THRESHOLDS


def test_every_finding_and_recommendation_has_its_rule_listed() -> None:
    current = [
        campaign("a", spend=40_000, revenue=20_000, conversions=2),
        campaign("b", spend=60_000, revenue=0, conversions=0, frequency="4.0"),
    ]
    previous = [campaign("a", spend=40_000, revenue=80_000, conversions=8)]
    analysis = analyse_week("c-1", WEEK, current, previous)
    assert analysis is not None
    listed = {r.output_id: r.rule for r in analysis.rules_fired if r.output_id is not None}
    assert {f.id: f.code for f in analysis.findings} == {k: v for k, v in listed.items() if k.startswith("F")}
    assert {r.id: r.rule for r in analysis.budget_recommendations} == {
        k: v for k, v in listed.items() if k.startswith("R")
    }
    cpa = next(r for r in analysis.rules_fired if r.rule == "cpa_rising")
    assert cpa.thresholds == {"cpa_rise": D("0.2"), "cpa_rise_for_zero_points": D("0.5")}


def test_raising_the_fatigue_frequency_in_the_settings_stops_the_fatigue_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIENTPULSE_INSIGHTS_THRESHOLDS__FATIGUE_FREQUENCY", "3.5")
    thresholds = InsightsSettings().thresholds
    assert thresholds.fatigue_frequency == D("3.5")
    assert thresholds.model_dump(exclude={"fatigue_frequency"}) == DEFAULT_THRESHOLDS.model_dump(
        exclude={"fatigue_frequency"}
    )
    analysis = analyse_week("c-1", WEEK, TIRED_WEEK, [], thresholds)
    assert analysis is not None
    assert not any("fatigue" in r.rule or r.rule == "frequency_alert" for r in analysis.rules_fired)
    assert analysis.frequency_alerts == [] and analysis.rules.fatigue_frequency == D("3.5")
    fatigue = next(c for c in analysis.health.components if c.key == "fatigue")
    assert fatigue.points == D("20.0") and "above 3.5" in fatigue.rule


def test_lowering_a_threshold_in_the_settings_makes_its_rule_fire(monkeypatch: pytest.MonkeyPatch) -> None:
    # ROAS 3.0: not strong against the default target 4.0, strong against 3.0.
    week = [campaign("a", spend=100_000, revenue=300_000, conversions=10)]
    assert "roas_strong" not in {r.rule for r in fired_rules(analyse_week("c-1", WEEK, week, []))}
    monkeypatch.setenv("CLIENTPULSE_INSIGHTS_THRESHOLDS__TARGET_ROAS", "3.0")
    analysis = analyse_week("c-1", WEEK, week, [], InsightsSettings().thresholds)
    strong = next(r for r in fired_rules(analysis) if r.rule == "roas_strong")
    assert strong.thresholds == {"target_roas": D("3.0")}
    assert analysis is not None and "at or above 3.0" in next(
        f.detail for f in analysis.findings if f.code == "roas_strong"
    )


def test_rule_descriptions_follow_the_thresholds() -> None:
    week = [
        campaign("star", spend=100_000, revenue=800_000, conversions=30),
        campaign("rest", spend=300_000, revenue=600_000, conversions=20),
    ]
    default = analyse_week("c-1", WEEK, week, [])
    tuned = analyse_week("c-1", WEEK, week, [], AnalysisThresholds(roas_increase_factor=D("1.5")))
    assert default is not None and tuned is not None
    star, tuned_star = (next(r for r in a.budget_recommendations if r.campaign_id == "star") for a in (default, tuned))
    assert star.rule_description == (
        "ROAS at least 1.25 × the currency's blended ROAS (and at least 1.0) on meaningful spend"
    )
    assert tuned_star.rule_description.startswith("ROAS at least 1.5 × the currency's blended ROAS")


@pytest.mark.parametrize(
    ("name", "value"),
    [("THRESHOLDS__MEANINGFUL_SPEND_SHARE", "1.5"), ("THRESHOLDS__TARGET_ROAS", "0"), ("THRESHOLDS__ROAS_LOWW", "2")],
)
def test_a_threshold_out_of_range_or_misspelt_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"CLIENTPULSE_INSIGHTS_{name}", value)
    with pytest.raises(ValidationError):
        InsightsSettings()


def test_an_analysis_stored_before_rules_fired_still_reads() -> None:
    analysis = analyse_week("c-1", WEEK, TIRED_WEEK, [])
    assert analysis is not None
    body = analysis.model_dump(mode="json", exclude={"rules_fired"})
    # The thresholds such an analysis stored: the rules of that time.
    kept = (
        "target_roas",
        "fatigue_frequency",
        "meaningful_spend_share",
        "roas_increase_factor",
        "roas_decrease_factor",
        "cpa_increase_factor",
        "cpa_decrease_factor",
        "cpa_rise_for_zero_points",
    )
    body["rules"] = {key: body["rules"][key] for key in kept}
    stored = WeeklyAnalysis.model_validate(body)
    assert stored.rules_fired == [] and stored.rules == DEFAULT_THRESHOLDS
