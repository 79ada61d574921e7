"""The analysis health score and its status bands (docs/domain-rules.md, "AI analysis").

Health score (0–100), four components, each computed per currency and combined across currencies
weighted by each currency's number of campaigns with spend (thresholds at their defaults):

- ``roas`` (40 points): 40 × min(ROAS, 4.0) ÷ 4.0 — blended return on ad spend of the week. Does not
  apply where conversions were recorded without any revenue (revenue not tracked).
- ``cpa_trend`` (20 points): 20 when CPA fell or held against the week before, 0 at a rise of 50 %
  or more (or when conversions stopped), linear between. Applies when the week before had conversions.
- ``fatigue`` (20 points): 20 × (1 − share of spend in campaigns with 7-day frequency above 3.0).
- ``wasted_spend`` (20 points): 20 × (1 − share of spend in campaigns without a conversion).

score = points earned ÷ points available (of the applicable components) × 100, rounded half up;
status from the bands good ≥ 70, warning ≥ 40, critical below.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from clientpulse.insights.domain.analysis import ComponentByCurrency, HealthScore, ScoreComponent
from clientpulse.insights.domain.currency_week import CurrencyWeek
from clientpulse.insights.domain.ratios import SHARE_PLACES, ratio, rounded_points, share_of
from clientpulse.insights.domain.thresholds import AnalysisThresholds, percent_text

COMPONENT_MAX = {"roas": 40, "cpa_trend": 20, "fatigue": 20, "wasted_spend": 20}
COMPONENT_LABEL = {
    "roas": "Blended ROAS",
    "cpa_trend": "CPA week over week",
    "fatigue": "Spend in fatigued campaigns",
    "wasted_spend": "Spend in campaigns without conversions",
}
FORMULA = (
    "score = points earned ÷ points available × 100, rounded half up; points available are the maximum points "
    "of the components that apply; each component is computed per currency and combined weighted by the "
    "currency's campaigns with spend; good ≥ 70, warning ≥ 40, critical below 40"
)

# A component's value and points for one currency; points None where the component does not apply.
_ValuePoints = tuple[Decimal | None, Decimal | None]


def analysis_status(health_score: int) -> str:
    """good at 70 and above, warning from 40, critical below 40."""
    if not 0 <= health_score <= 100:
        raise ValueError(f"health score must be 0–100, got {health_score}")
    if health_score >= 70:
        return "good"
    if health_score >= 40:
        return "warning"
    return "critical"


def component_rule(key: str, thresholds: AnalysisThresholds) -> str:
    """How a component's points are computed, with the thresholds in force."""
    target, rise = thresholds.target_roas, percent_text(thresholds.cpa_rise_for_zero_points)
    return {
        "roas": f"40 × min(ROAS, {target}) ÷ {target}; not applicable when conversions carry no revenue",
        "cpa_trend": f"20 when CPA fell or held; 0 at a rise of {rise} or more or when conversions stopped; "
        "linear between; not applicable without conversions the week before",
        "fatigue": f"20 × (1 − share of spend in campaigns with 7-day frequency above {thresholds.fatigue_frequency})",
        "wasted_spend": "20 × (1 − share of spend in campaigns without a conversion)",
    }[key]


def roas_points(roas: Decimal, thresholds: AnalysisThresholds) -> Decimal:
    """40 × min(ROAS, target) ÷ target (target ROAS 4.0)."""
    capped = max(Decimal(0), min(roas, thresholds.target_roas))
    return COMPONENT_MAX["roas"] * capped / thresholds.target_roas


def cpa_trend_points(cpa_change: Decimal | None, thresholds: AnalysisThresholds) -> Decimal:
    """20 when CPA fell or held, 0 at +50 % or more, linear between; ``None`` (conversions stopped) scores 0."""
    top = Decimal(COMPONENT_MAX["cpa_trend"])
    if cpa_change is None:
        return Decimal(0)
    if cpa_change <= 0:
        return top
    return max(Decimal(0), top * (1 - cpa_change / thresholds.cpa_rise_for_zero_points))


def share_points(component: str, share: Decimal) -> Decimal:
    """``max × (1 − share)`` for the spend-share components."""
    return COMPONENT_MAX[component] * (1 - min(Decimal(1), max(Decimal(0), share)))


def _roas_component(group: CurrencyWeek, thresholds: AnalysisThresholds) -> _ValuePoints:
    roas = ratio(group.revenue, group.spend)
    if group.revenue_tracked and roas is not None:
        return group.roas, roas_points(roas, thresholds)
    return group.roas, None


def _cpa_trend_component(group: CurrencyWeek, thresholds: AnalysisThresholds) -> _ValuePoints:
    cpa, previous_cpa = group.cpa, group.previous_cpa
    if previous_cpa is None or previous_cpa <= 0:
        return None, None
    change = None if cpa is None else (cpa - previous_cpa) / previous_cpa
    shown = None if change is None else change.quantize(SHARE_PLACES, ROUND_HALF_UP)
    return shown, cpa_trend_points(change, thresholds)


def _component_values(group: CurrencyWeek, thresholds: AnalysisThresholds) -> dict[str, _ValuePoints]:
    """(value, points) of each component for one currency."""
    fatigued_spend = group.fatigued_spend(thresholds)
    fatigued = ratio(fatigued_spend, group.spend) or Decimal(0)
    wasted = ratio(group.no_conversion_spend, group.spend) or Decimal(0)
    return {
        "roas": _roas_component(group, thresholds),
        "cpa_trend": _cpa_trend_component(group, thresholds),
        "fatigue": (share_of(fatigued_spend, group.spend), share_points("fatigue", fatigued)),
        "wasted_spend": (
            share_of(group.no_conversion_spend, group.spend),
            share_points("wasted_spend", wasted),
        ),
    }


def _score_component(
    key: str, per_group: Sequence[tuple[CurrencyWeek, dict[str, _ValuePoints]]], thresholds: AnalysisThresholds
) -> tuple[ScoreComponent, Decimal | None]:
    """One component across currencies, weighted by their campaigns with spend, and its exact points."""
    by_currency: list[ComponentByCurrency] = []
    weighted = Decimal(0)
    weight = 0
    for group, values in per_group:
        value, points = values[key]
        campaigns = len(group.spending)
        by_currency.append(
            ComponentByCurrency(
                currency=group.currency,
                campaigns=campaigns,
                value=value,
                points=None if points is None else rounded_points(points),
            )
        )
        if points is not None:
            weighted += points * campaigns
            weight += campaigns
    exact = weighted / weight if weight > 0 else None
    component = ScoreComponent(
        key=key,  # type: ignore[arg-type]
        label=COMPONENT_LABEL[key],
        max_points=COMPONENT_MAX[key],
        applicable=exact is not None,
        points=None if exact is None else rounded_points(exact),
        rule=component_rule(key, thresholds),
        by_currency=by_currency,
    )
    return component, exact


def health_score(groups: Sequence[CurrencyWeek], thresholds: AnalysisThresholds) -> HealthScore:
    """The health score with every component and each currency's part in it (see the module docstring)."""
    if not groups:
        raise ValueError("a health score needs at least one currency with spend")
    per_group = [(group, _component_values(group, thresholds)) for group in groups]
    components: list[ScoreComponent] = []
    earned = Decimal(0)
    available = 0
    for key in COMPONENT_MAX:
        component, points = _score_component(key, per_group, thresholds)
        components.append(component)
        if points is not None:
            earned += points
            available += COMPONENT_MAX[key]
    score = int((earned / available * 100).quantize(Decimal(1), ROUND_HALF_UP))
    score = max(0, min(100, score))
    return HealthScore(
        score=score,
        status=analysis_status(score),  # type: ignore[arg-type]
        formula=FORMULA,
        points_earned=rounded_points(earned),
        points_available=available,
        components=components,
    )
