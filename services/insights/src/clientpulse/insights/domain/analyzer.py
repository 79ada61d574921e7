"""The deterministic weekly analyzer: campaign rows of two weeks in, a structured analysis out.

Pure functions, no I/O. Everything is computed per currency: amounts of different currencies are
never added (``currency_week``). The analysis is put together here from its parts: the health score
(``health``), the findings (``findings``), the performers (``performers``), the budget recommendations
(``budget``), the frequency alerts (``frequency``), the creative insights (``creative``) and the quick
wins (``quick_wins``); every rule reads its thresholds from one ``AnalysisThresholds`` and every rule
that fired is listed in ``rules_fired`` with the thresholds it compared against.
"""

from __future__ import annotations

from collections.abc import Sequence

from clientpulse.insights.domain.analysis import (
    DETERMINISTIC,
    BudgetRecommendation,
    CampaignResult,
    CurrencyTotals,
    Finding,
    FrequencyAlert,
    HealthScore,
    ProseOrigin,
    RuleFired,
    Severity,
    WeeklyAnalysis,
)
from clientpulse.insights.domain.budget import RECOMMENDATIONS_SHOWN, Recommendation, fired_budget_rules
from clientpulse.insights.domain.creative import creative_insights
from clientpulse.insights.domain.currency_week import CurrencyWeek, currency_totals, currency_weeks
from clientpulse.insights.domain.findings import SEVERITY_ORDER, FoundFinding, currency_findings
from clientpulse.insights.domain.formatting import format_money
from clientpulse.insights.domain.frequency import FREQUENCY_ALERT_RULE, FREQUENCY_ALERT_THRESHOLDS, frequency_alerts
from clientpulse.insights.domain.health import health_score
from clientpulse.insights.domain.performers import performers
from clientpulse.insights.domain.quick_wins import WeekOutcome, quick_wins
from clientpulse.insights.domain.thresholds import DEFAULT_THRESHOLDS, AnalysisThresholds
from clientpulse.insights.domain.weeks import IsoWeek


def _totals_text(t: CurrencyTotals) -> str:
    cur = t.currency
    if t.revenue_tracked:
        before = f"{t.previous_roas}" if t.previous_roas is not None else "no spend"
        return (
            f"{cur}: spend {format_money(t.spend_minor, cur)}, revenue {format_money(t.revenue_minor, cur)}, "
            f"ROAS {t.roas} (week before: {before})."
        )
    cpa = format_money(t.cpa_minor, cur) if t.cpa_minor is not None else "none"
    return f"{cur}: spend {format_money(t.spend_minor, cur)}, {t.conversions} conversions, CPA {cpa}."


def deterministic_summary(
    week: IsoWeek,
    health: HealthScore,
    totals: Sequence[CurrencyTotals],
    findings: Sequence[Finding],
    recommendations: int,
) -> str:
    """The analyzer's own executive summary, from the numbers only."""
    parts = [f"Week {week}: health {health.score}/100 ({health.status})."]
    parts += [_totals_text(t) for t in totals]
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    parts.append(f"{critical} critical and {warnings} warning finding(s); {recommendations} budget recommendation(s).")
    return " ".join(parts)


def _found_findings(
    groups: Sequence[CurrencyWeek], totals: Sequence[CurrencyTotals], thresholds: AnalysisThresholds
) -> list[FoundFinding]:
    """Every currency's findings, most severe first."""
    found = [f for group, t in zip(groups, totals, strict=True) for f in currency_findings(group, t, thresholds)]
    found.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.currency or "", f.rule.code))
    return found


def _finding(index: int, found: FoundFinding) -> Finding:
    return Finding(
        id=f"F{index}",
        code=found.rule.code,
        severity=found.severity,
        currency=found.currency,
        title=found.title,
        detail=found.detail,
        reasoning=found.detail,
        campaign_ids=list(found.campaign_ids),
    )


def _recommendation(index: int, fired: Recommendation, thresholds: AnalysisThresholds) -> BudgetRecommendation:
    campaign = fired.campaign
    return BudgetRecommendation(
        id=f"R{index}",
        action=fired.action,
        rule=fired.rule.name,
        rule_description=fired.rule.description(thresholds),
        connection_id=campaign.connection_id,
        platform=campaign.platform,
        campaign_id=campaign.campaign_id,
        campaign_name=campaign.campaign_name,
        currency=campaign.currency,
        spend_minor=campaign.spend_minor,
        roas=fired.roas,
        cpa_minor=fired.cpa_minor,
        reasoning=fired.reasoning,
    )


def rules_fired(
    findings: Sequence[FoundFinding],
    recommendations: Sequence[Recommendation],
    alerts: Sequence[FrequencyAlert],
    thresholds: AnalysisThresholds,
) -> list[RuleFired]:
    """Every rule that fired, in the order of the findings, the budget rules and the frequency alerts.

    Findings and recommendations are numbered as in the analysis (``F1``…, ``R1``…); a budget rule that
    fired beyond the recommendations shown is listed without an ``output_id``.
    """
    fired = [
        RuleFired(
            rule=f.rule.code,
            kind="finding",
            subject=f.currency,
            currency=f.currency,
            thresholds=thresholds.of(f.rule.thresholds),
            output_id=f"F{index}",
        )
        for index, f in enumerate(findings, start=1)
    ]
    fired += [
        RuleFired(
            rule=r.rule.name,
            kind="budget_recommendation",
            subject=f"{r.campaign.connection_id}/{r.campaign.campaign_id}",
            currency=r.campaign.currency,
            thresholds=thresholds.of(r.rule.thresholds),
            output_id=f"R{index}" if index <= RECOMMENDATIONS_SHOWN else None,
        )
        for index, r in enumerate(recommendations, start=1)
    ]
    fired += [
        RuleFired(
            rule=FREQUENCY_ALERT_RULE,
            kind="frequency_alert",
            subject=f"{a.connection_id}/{a.campaign_id}",
            currency=a.currency,
            thresholds=thresholds.of(FREQUENCY_ALERT_THRESHOLDS),
            output_id=None,
        )
        for a in alerts
    ]
    return fired


def analyse_week(
    client_id: str,
    week: IsoWeek,
    current: Sequence[CampaignResult],
    previous: Sequence[CampaignResult],
    thresholds: AnalysisThresholds = DEFAULT_THRESHOLDS,
) -> WeeklyAnalysis | None:
    """The deterministic analysis of a week against the week before; None when nothing was spent in the week."""
    groups = currency_weeks(current, previous)
    if not groups:
        return None
    totals = [currency_totals(group, thresholds) for group in groups]
    health = health_score(groups, thresholds)
    found = _found_findings(groups, totals, thresholds)
    findings = [_finding(index, f) for index, f in enumerate(found, start=1)]
    top, under = performers(groups, thresholds)
    fired = fired_budget_rules(groups, thresholds)
    shown = fired[:RECOMMENDATIONS_SHOWN]
    recommendations = [_recommendation(index, r, thresholds) for index, r in enumerate(shown, start=1)]
    alerts = frequency_alerts(groups, thresholds)
    outcome = WeekOutcome(groups, shown, top, under, alerts, thresholds)
    previous_week = week.previous()
    return WeeklyAnalysis(
        client_id=client_id,
        week=str(week),
        start=week.start,
        end=week.end,
        previous_week=str(previous_week),
        previous_start=previous_week.start,
        previous_end=previous_week.end,
        summary=deterministic_summary(week, health, totals, findings, len(recommendations)),
        health=health,
        totals=totals,
        findings=findings,
        top_performers=top,
        under_performers=under,
        budget_recommendations=recommendations,
        frequency_alerts=alerts,
        creative_insights=creative_insights(top, under, alerts),
        quick_wins=quick_wins(outcome),
        rules=thresholds,
        rules_fired=rules_fired(found, fired, alerts, thresholds),
        prose=ProseOrigin(generated_by=DETERMINISTIC),
    )
