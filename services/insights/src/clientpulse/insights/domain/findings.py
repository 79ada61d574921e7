"""The findings of a currency's week: each a named rule with the thresholds it compares against.

The rules sit in chains; of each chain the first rule that fires is reported (one verdict on the ROAS,
one on the CPA, one on the spend), and every rule that fired is listed in the analysis's ``rules_fired``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.insights.domain.analysis import CurrencyTotals, Severity
from clientpulse.insights.domain.currency_week import CurrencyWeek
from clientpulse.insights.domain.formatting import format_money, format_percent
from clientpulse.insights.domain.thresholds import AnalysisThresholds

SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class FoundFinding:
    """A finding before it is numbered, with the rule that found it."""

    rule: FindingRule
    severity: Severity
    currency: str
    title: str
    detail: str
    campaign_ids: tuple[str, ...] = ()


Judge = Callable[[CurrencyWeek, CurrencyTotals, AnalysisThresholds], FoundFinding | None]


@dataclass(frozen=True, slots=True)
class FindingRule:
    """A named finding rule: the thresholds it reads and the judgement that fires it (None: it did not)."""

    code: str
    thresholds: tuple[str, ...]
    judge: Judge


def _tracked_roas(group: CurrencyWeek, totals: CurrencyTotals) -> Decimal | None:
    return totals.roas if group.revenue_tracked else None


def _revenue_not_tracked(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    if group.revenue_tracked:
        return None
    cur = group.currency
    return FoundFinding(
        REVENUE_NOT_TRACKED,
        Severity.INFO,
        cur,
        f"{cur} conversions carry no revenue",
        f"{totals.conversions} {cur} conversions were recorded with no revenue on "
        f"{format_money(group.spend, cur)} of spend; ROAS cannot be judged.",
    )


def _roas_below_break_even(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    roas = _tracked_roas(group, totals)
    if roas is None or roas >= t.roas_break_even:
        return None
    cur = group.currency
    return FoundFinding(
        ROAS_BELOW_BREAK_EVEN,
        Severity.CRITICAL,
        cur,
        f"{cur} spend returned less than it cost",
        f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend "
        f"({format_money(group.revenue, cur)} revenue).",
    )


def _roas_low(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    roas = _tracked_roas(group, totals)
    if roas is None or roas >= t.roas_low:
        return None
    cur = group.currency
    return FoundFinding(
        ROAS_LOW,
        Severity.WARNING,
        cur,
        f"{cur} return on ad spend is low",
        f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend, below {t.roas_low}.",
    )


def _roas_strong(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    roas = _tracked_roas(group, totals)
    if roas is None or roas < t.target_roas:
        return None
    cur = group.currency
    return FoundFinding(
        ROAS_STRONG,
        Severity.INFO,
        cur,
        f"{cur} return on ad spend is strong",
        f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend, at or above {t.target_roas}.",
    )


def _conversions_stopped(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    if not (group.previous_conversions > 0 and group.conversions == 0):
        return None
    cur = group.currency
    return FoundFinding(
        CONVERSIONS_STOPPED,
        Severity.CRITICAL,
        cur,
        f"{cur} campaigns stopped converting",
        f"No conversions on {format_money(group.spend, cur)} of spend, after "
        f"{totals.previous_conversions} the week before.",
    )


def _cpa_detail(group: CurrencyWeek, totals: CurrencyTotals, change: Decimal) -> str:
    cur = group.currency
    return (
        f"CPA {format_money(totals.cpa_minor or 0, cur)} against "
        f"{format_money(totals.previous_cpa_minor or 0, cur)} the week before "
        f"({format_percent(change, signed=True)})."
    )


def _cpa_rising(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    change = totals.cpa_change
    if change is None or change <= t.cpa_rise:
        return None
    severity = Severity.CRITICAL if change >= t.cpa_rise_for_zero_points else Severity.WARNING
    cur = group.currency
    return FoundFinding(
        CPA_RISING, severity, cur, f"{cur} cost per conversion rose", _cpa_detail(group, totals, change)
    )


def _cpa_falling(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    change = totals.cpa_change
    if change is None or change > -t.cpa_fall:
        return None
    cur = group.currency
    return FoundFinding(
        CPA_FALLING, Severity.INFO, cur, f"{cur} cost per conversion fell", _cpa_detail(group, totals, change)
    )


def _fatigued_spend(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    fatigued = group.fatigued(t)
    if not fatigued:
        return None
    cur, share = group.currency, totals.fatigued_spend_share
    return FoundFinding(
        FATIGUED_SPEND,
        Severity.CRITICAL if share >= t.fatigued_spend_critical_share else Severity.WARNING,
        cur,
        f"{cur} spend runs into frequency fatigue",
        f"{len(fatigued)} campaign(s) with 7-day frequency above {t.fatigue_frequency} took "
        f"{format_percent(share)} of {cur} spend ({format_money(group.fatigued_spend(t), cur)}).",
        tuple(c.campaign_id for c in fatigued),
    )


def _spend_without_conversions(
    group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds
) -> FoundFinding | None:
    wasted = group.without_conversions
    cur, share = group.currency, totals.no_conversion_spend_share
    if not wasted or share < t.no_conversion_spend_share:
        return None
    return FoundFinding(
        SPEND_WITHOUT_CONVERSIONS,
        Severity.CRITICAL if share >= t.no_conversion_spend_critical_share else Severity.WARNING,
        cur,
        f"{cur} spend without conversions",
        f"{len(wasted)} campaign(s) spent {format_money(group.no_conversion_spend, cur)} "
        f"({format_percent(share)} of {cur} spend) with no conversion.",
        tuple(c.campaign_id for c in wasted),
    )


def _spend_started(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    if group.previous_spend != 0:
        return None
    cur = group.currency
    return FoundFinding(
        SPEND_STARTED,
        Severity.INFO,
        cur,
        f"{cur} spend started this week",
        f"{format_money(group.spend, cur)} spent; nothing the week before.",
    )


def _spend_shift(group: CurrencyWeek, totals: CurrencyTotals, t: AnalysisThresholds) -> FoundFinding | None:
    change = totals.spend_change
    if change is None or abs(change) < t.spend_shift_share:
        return None
    cur = group.currency
    return FoundFinding(
        SPEND_SHIFT,
        Severity.INFO,
        cur,
        f"{cur} spend {'rose' if change > 0 else 'fell'} sharply",
        f"{format_money(group.spend, cur)} against {format_money(group.previous_spend, cur)} the week "
        f"before ({format_percent(change, signed=True)}).",
    )


REVENUE_NOT_TRACKED = FindingRule("revenue_not_tracked", (), _revenue_not_tracked)
ROAS_BELOW_BREAK_EVEN = FindingRule("roas_below_break_even", ("roas_break_even",), _roas_below_break_even)
ROAS_LOW = FindingRule("roas_low", ("roas_low",), _roas_low)
ROAS_STRONG = FindingRule("roas_strong", ("target_roas",), _roas_strong)
CONVERSIONS_STOPPED = FindingRule("conversions_stopped", (), _conversions_stopped)
CPA_RISING = FindingRule("cpa_rising", ("cpa_rise", "cpa_rise_for_zero_points"), _cpa_rising)
CPA_FALLING = FindingRule("cpa_falling", ("cpa_fall",), _cpa_falling)
FATIGUED_SPEND = FindingRule("fatigued_spend", ("fatigue_frequency", "fatigued_spend_critical_share"), _fatigued_spend)
SPEND_WITHOUT_CONVERSIONS = FindingRule(
    "spend_without_conversions",
    ("no_conversion_spend_share", "no_conversion_spend_critical_share"),
    _spend_without_conversions,
)
SPEND_STARTED = FindingRule("spend_started", (), _spend_started)
SPEND_SHIFT = FindingRule("spend_shift", ("spend_shift_share",), _spend_shift)

FINDING_RULES: tuple[tuple[FindingRule, ...], ...] = (
    (REVENUE_NOT_TRACKED, ROAS_BELOW_BREAK_EVEN, ROAS_LOW, ROAS_STRONG),
    (CONVERSIONS_STOPPED, CPA_RISING, CPA_FALLING),
    (FATIGUED_SPEND,),
    (SPEND_WITHOUT_CONVERSIONS,),
    (SPEND_STARTED, SPEND_SHIFT),
)


def currency_findings(
    group: CurrencyWeek, totals: CurrencyTotals, thresholds: AnalysisThresholds
) -> list[FoundFinding]:
    """The findings of one currency's week: the first rule of each chain in ``FINDING_RULES`` that fires."""
    found: list[FoundFinding] = []
    for chain in FINDING_RULES:
        for rule in chain:
            finding = rule.judge(group, totals, thresholds)
            if finding is not None:
                found.append(finding)
                break
    return found
