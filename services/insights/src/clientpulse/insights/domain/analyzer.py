"""The deterministic weekly analyzer: campaign rows of two weeks in, a structured analysis out.

Pure functions, no I/O. Everything is computed per currency: amounts of different currencies are
never added. Ratios are derived from sums (ROAS = revenue ÷ spend, CPA = spend ÷ conversions).

Health score (0–100), four components, each computed per currency and combined across currencies
weighted by each currency's number of campaigns with spend:

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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from clientpulse.insights.domain.analysis import (
    DETERMINISTIC,
    AnalysisRules,
    BudgetAction,
    BudgetRecommendation,
    CampaignResult,
    ComponentByCurrency,
    CreativeInsight,
    CurrencyTotals,
    Finding,
    FrequencyAlert,
    HealthScore,
    Performer,
    ProseOrigin,
    QuickWin,
    ScoreComponent,
    Severity,
    WeeklyAnalysis,
)
from clientpulse.insights.domain.formatting import format_money, format_percent
from clientpulse.insights.domain.health import analysis_status
from clientpulse.insights.domain.weeks import IsoWeek

TARGET_ROAS = Decimal("4.0")
FATIGUE_FREQUENCY = Decimal("3.0")
MEANINGFUL_SPEND_SHARE = Decimal("0.05")
ROAS_INCREASE_FACTOR = Decimal("1.25")
ROAS_DECREASE_FACTOR = Decimal("0.75")
CPA_INCREASE_FACTOR = Decimal("0.8")  # CPA at or below 0.8 × the currency's CPA: scale it
CPA_DECREASE_FACTOR = Decimal("1.25")  # CPA at or above 1.25 × the currency's CPA: cut it
CPA_RISE_FOR_ZERO_POINTS = Decimal("0.5")
PERFORMERS_SHOWN = 3
RECOMMENDATIONS_SHOWN = 12

RULES = AnalysisRules(
    target_roas=TARGET_ROAS,
    fatigue_frequency=FATIGUE_FREQUENCY,
    meaningful_spend_share=MEANINGFUL_SPEND_SHARE,
    roas_increase_factor=ROAS_INCREASE_FACTOR,
    roas_decrease_factor=ROAS_DECREASE_FACTOR,
    cpa_increase_factor=CPA_INCREASE_FACTOR,
    cpa_decrease_factor=CPA_DECREASE_FACTOR,
    cpa_rise_for_zero_points=CPA_RISE_FOR_ZERO_POINTS,
)

COMPONENT_MAX = {"roas": 40, "cpa_trend": 20, "fatigue": 20, "wasted_spend": 20}
COMPONENT_LABEL = {
    "roas": "Blended ROAS",
    "cpa_trend": "CPA week over week",
    "fatigue": "Spend in fatigued campaigns",
    "wasted_spend": "Spend in campaigns without conversions",
}
COMPONENT_RULE = {
    "roas": "40 × min(ROAS, 4.0) ÷ 4.0; not applicable when conversions carry no revenue",
    "cpa_trend": "20 when CPA fell or held; 0 at a rise of 50 % or more or when conversions stopped; linear "
    "between; not applicable without conversions the week before",
    "fatigue": "20 × (1 − share of spend in campaigns with 7-day frequency above 3.0)",
    "wasted_spend": "20 × (1 − share of spend in campaigns without a conversion)",
}
FORMULA = (
    "score = points earned ÷ points available × 100, rounded half up; points available are the maximum points "
    "of the components that apply; each component is computed per currency and combined weighted by the "
    "currency's campaigns with spend; good ≥ 70, warning ≥ 40, critical below 40"
)

RULE_DESCRIPTIONS = {
    "no_conversions_two_weeks": "meaningful spend and no conversion this week nor the week before",
    "no_conversions_this_week": "meaningful spend and no conversion this week",
    "frequency_fatigue": "7-day frequency above 3.0 on meaningful spend",
    "roas_well_below_account": "ROAS below 0.75 × the currency's blended ROAS on meaningful spend",
    "roas_well_above_account": "ROAS at least 1.25 × the currency's blended ROAS (and at least 1.0) on "
    "meaningful spend",
    "cpa_well_above_account": "revenue not tracked; CPA at least 1.25 × the currency's CPA on meaningful spend",
    "cpa_well_below_account": "revenue not tracked; CPA at most 0.8 × the currency's CPA on meaningful spend",
    "promising_low_spend": "under 5 % of the currency's spend with ROAS at least 1.25 × the blended ROAS",
}
_ACTION_ORDER = {BudgetAction.PAUSE: 0, BudgetAction.DECREASE: 1, BudgetAction.TEST: 2, BudgetAction.INCREASE: 3}
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_INACTIVE_STATUSES = {"PAUSED", "ARCHIVED"}

_ROAS_PLACES = Decimal("0.01")
_SHARE_PLACES = Decimal("0.0001")
_POINT_PLACES = Decimal("0.1")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """``numerator ÷ denominator``, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


def roas_of(revenue_minor: int, spend_minor: int) -> Decimal | None:
    """Return on ad spend (revenue ÷ spend, both in the same currency), to two decimals; None without spend."""
    value = ratio(revenue_minor, spend_minor)
    return None if value is None else value.quantize(_ROAS_PLACES, ROUND_HALF_UP)


def cpa_minor_of(spend_minor: int, conversions: Decimal) -> int | None:
    """Cost per conversion in minor units (rounded half up); None without conversions."""
    value = ratio(spend_minor, conversions)
    return None if value is None else int(value.quantize(Decimal(1), ROUND_HALF_UP))


def is_fatigued(seven_day_frequency: Decimal | None) -> bool:
    """Frequency fatigue: a 7-day frequency above 3.0 (exactly 3.0 is not fatigue)."""
    return seven_day_frequency is not None and seven_day_frequency > FATIGUE_FREQUENCY


def has_meaningful_spend(spend_minor: int, currency_spend_minor: int) -> bool:
    """At least 5 % of its currency's weekly spend (and some spend at all)."""
    return spend_minor > 0 and currency_spend_minor > 0 and spend_minor >= MEANINGFUL_SPEND_SHARE * currency_spend_minor


def _share(part: int, whole: int) -> Decimal:
    value = ratio(part, whole)
    return Decimal(0) if value is None else value.quantize(_SHARE_PLACES, ROUND_HALF_UP)


def _change(current: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    if current is None or previous is None or previous == 0:
        return None
    return ((Decimal(current) - Decimal(previous)) / Decimal(previous)).quantize(_SHARE_PLACES, ROUND_HALF_UP)


def _points(value: Decimal) -> Decimal:
    return value.quantize(_POINT_PLACES, ROUND_HALF_UP)


# --- per-currency facts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrencyWeek:
    """One currency's campaigns of the analysed week and the week before."""

    currency: str
    current: tuple[CampaignResult, ...]
    previous: tuple[CampaignResult, ...]

    @property
    def spending(self) -> tuple[CampaignResult, ...]:
        """Campaigns that spent this week."""
        return tuple(c for c in self.current if c.spend_minor > 0)

    @property
    def spend(self) -> int:
        """Spend of the week (minor units of ``currency``)."""
        return sum(c.spend_minor for c in self.current)

    @property
    def revenue(self) -> int:
        """Revenue of the week."""
        return sum(c.revenue_minor for c in self.current)

    @property
    def conversions(self) -> Decimal:
        """Conversions of the week."""
        return sum((c.conversions for c in self.current), Decimal(0))

    @property
    def previous_spend(self) -> int:
        """Spend of the week before."""
        return sum(c.spend_minor for c in self.previous)

    @property
    def previous_revenue(self) -> int:
        """Revenue of the week before."""
        return sum(c.revenue_minor for c in self.previous)

    @property
    def previous_conversions(self) -> Decimal:
        """Conversions of the week before."""
        return sum((c.conversions for c in self.previous), Decimal(0))

    @property
    def revenue_tracked(self) -> bool:
        """False when the week has conversions but no revenue at all (lead generation, or a broken pixel)."""
        return not (self.revenue == 0 and self.conversions > 0)

    @property
    def roas(self) -> Decimal | None:
        """Blended ROAS of the week."""
        return roas_of(self.revenue, self.spend)

    @property
    def cpa(self) -> Decimal | None:
        """Exact CPA of the week (minor units), None without conversions."""
        return ratio(self.spend, self.conversions)

    @property
    def previous_cpa(self) -> Decimal | None:
        """Exact CPA of the week before."""
        return ratio(self.previous_spend, self.previous_conversions)

    @property
    def fatigued_spend(self) -> int:
        """Spend in campaigns with frequency fatigue."""
        return sum(c.spend_minor for c in self.current if is_fatigued(c.seven_day_frequency))

    @property
    def no_conversion_spend(self) -> int:
        """Spend in campaigns that converted nothing."""
        return sum(c.spend_minor for c in self.current if c.spend_minor > 0 and c.conversions == 0)


def currency_weeks(current: Iterable[CampaignResult], previous: Iterable[CampaignResult]) -> list[CurrencyWeek]:
    """The campaigns grouped by currency (currencies with spend this week only), in currency order."""
    now: dict[str, list[CampaignResult]] = defaultdict(list)
    before: dict[str, list[CampaignResult]] = defaultdict(list)
    for campaign in current:
        now[campaign.currency].append(campaign)
    for campaign in previous:
        before[campaign.currency].append(campaign)
    groups = [CurrencyWeek(currency, tuple(now[currency]), tuple(before.get(currency, ()))) for currency in sorted(now)]
    return [group for group in groups if group.spend > 0]


def currency_totals(group: CurrencyWeek) -> CurrencyTotals:
    """A currency's sums and ratios, this week against the week before."""
    cpa, previous_cpa = group.cpa, group.previous_cpa
    return CurrencyTotals(
        currency=group.currency,
        campaigns_with_spend=len(group.spending),
        spend_minor=group.spend,
        revenue_minor=group.revenue,
        conversions=group.conversions,
        roas=group.roas,
        cpa_minor=cpa_minor_of(group.spend, group.conversions),
        previous_spend_minor=group.previous_spend,
        previous_revenue_minor=group.previous_revenue,
        previous_conversions=group.previous_conversions,
        previous_roas=roas_of(group.previous_revenue, group.previous_spend),
        previous_cpa_minor=cpa_minor_of(group.previous_spend, group.previous_conversions),
        spend_change=_change(group.spend, group.previous_spend),
        cpa_change=_change(cpa, previous_cpa),
        fatigued_spend_share=_share(group.fatigued_spend, group.spend),
        no_conversion_spend_share=_share(group.no_conversion_spend, group.spend),
        revenue_tracked=group.revenue_tracked,
    )


# --- health score ---------------------------------------------------------------------------------


def roas_points(roas: Decimal) -> Decimal:
    """40 × min(ROAS, 4.0) ÷ 4.0."""
    capped = max(Decimal(0), min(roas, TARGET_ROAS))
    return COMPONENT_MAX["roas"] * capped / TARGET_ROAS


def cpa_trend_points(cpa_change: Decimal | None) -> Decimal:
    """20 when CPA fell or held, 0 at +50 % or more, linear between; ``None`` (conversions stopped) scores 0."""
    top = Decimal(COMPONENT_MAX["cpa_trend"])
    if cpa_change is None:
        return Decimal(0)
    if cpa_change <= 0:
        return top
    return max(Decimal(0), top * (1 - cpa_change / CPA_RISE_FOR_ZERO_POINTS))


def share_points(component: str, share: Decimal) -> Decimal:
    """``max × (1 − share)`` for the spend-share components."""
    return COMPONENT_MAX[component] * (1 - min(Decimal(1), max(Decimal(0), share)))


def _component_values(group: CurrencyWeek) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """(value, points) of each component for one currency; points None where it does not apply."""
    values: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    roas = ratio(group.revenue, group.spend)
    values["roas"] = (
        (group.roas, roas_points(roas)) if group.revenue_tracked and roas is not None else (group.roas, None)
    )
    cpa, previous_cpa = group.cpa, group.previous_cpa
    if previous_cpa is not None and previous_cpa > 0:
        change = None if cpa is None else (cpa - previous_cpa) / previous_cpa
        shown = None if change is None else change.quantize(_SHARE_PLACES, ROUND_HALF_UP)
        values["cpa_trend"] = (shown, cpa_trend_points(change))
    else:
        values["cpa_trend"] = (None, None)
    fatigued = ratio(group.fatigued_spend, group.spend) or Decimal(0)
    values["fatigue"] = (_share(group.fatigued_spend, group.spend), share_points("fatigue", fatigued))
    wasted = ratio(group.no_conversion_spend, group.spend) or Decimal(0)
    values["wasted_spend"] = (_share(group.no_conversion_spend, group.spend), share_points("wasted_spend", wasted))
    return values


def health_score(groups: Sequence[CurrencyWeek]) -> HealthScore:
    """The health score with every component and each currency's part in it (see the module docstring)."""
    if not groups:
        raise ValueError("a health score needs at least one currency with spend")
    per_group = [(group, _component_values(group)) for group in groups]
    components: list[ScoreComponent] = []
    earned = Decimal(0)
    available = 0
    for key in ("roas", "cpa_trend", "fatigue", "wasted_spend"):
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
                    points=None if points is None else _points(points),
                )
            )
            if points is not None:
                weighted += points * campaigns
                weight += campaigns
        applicable = weight > 0
        component_points = weighted / weight if applicable else None
        if component_points is not None:
            earned += component_points
            available += COMPONENT_MAX[key]
        components.append(
            ScoreComponent(
                key=key,  # type: ignore[arg-type]
                label=COMPONENT_LABEL[key],
                max_points=COMPONENT_MAX[key],
                applicable=applicable,
                points=None if component_points is None else _points(component_points),
                rule=COMPONENT_RULE[key],
                by_currency=by_currency,
            )
        )
    score = int((earned / available * 100).quantize(Decimal(1), ROUND_HALF_UP))
    score = max(0, min(100, score))
    return HealthScore(
        score=score,
        status=analysis_status(score),  # type: ignore[arg-type]
        formula=FORMULA,
        points_earned=_points(earned),
        points_available=available,
        components=components,
    )


# --- findings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Finding:
    code: str
    severity: Severity
    currency: str | None
    title: str
    detail: str
    campaign_ids: tuple[str, ...] = ()


def _currency_findings(group: CurrencyWeek, totals: CurrencyTotals) -> list[_Finding]:
    cur = group.currency
    found: list[_Finding] = []
    roas = totals.roas
    if not group.revenue_tracked:
        found.append(
            _Finding(
                "revenue_not_tracked",
                Severity.INFO,
                cur,
                f"{cur} conversions carry no revenue",
                f"{totals.conversions} {cur} conversions were recorded with no revenue on "
                f"{format_money(group.spend, cur)} of spend; ROAS cannot be judged.",
            )
        )
    elif roas is not None and roas < 1:
        found.append(
            _Finding(
                "roas_below_break_even",
                Severity.CRITICAL,
                cur,
                f"{cur} spend returned less than it cost",
                f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend "
                f"({format_money(group.revenue, cur)} revenue).",
            )
        )
    elif roas is not None and roas < 2:
        found.append(
            _Finding(
                "roas_low",
                Severity.WARNING,
                cur,
                f"{cur} return on ad spend is low",
                f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend, below 2.0.",
            )
        )
    elif roas is not None and roas >= TARGET_ROAS:
        found.append(
            _Finding(
                "roas_strong",
                Severity.INFO,
                cur,
                f"{cur} return on ad spend is strong",
                f"Blended ROAS {roas} on {format_money(group.spend, cur)} of spend, at or above {TARGET_ROAS}.",
            )
        )
    if group.previous_conversions > 0 and group.conversions == 0:
        found.append(
            _Finding(
                "conversions_stopped",
                Severity.CRITICAL,
                cur,
                f"{cur} campaigns stopped converting",
                f"No conversions on {format_money(group.spend, cur)} of spend, after "
                f"{totals.previous_conversions} the week before.",
            )
        )
    elif totals.cpa_change is not None and totals.cpa_change > Decimal("0.2"):
        severity = Severity.CRITICAL if totals.cpa_change >= CPA_RISE_FOR_ZERO_POINTS else Severity.WARNING
        found.append(
            _Finding(
                "cpa_rising",
                severity,
                cur,
                f"{cur} cost per conversion rose",
                f"CPA {format_money(totals.cpa_minor or 0, cur)} against "
                f"{format_money(totals.previous_cpa_minor or 0, cur)} the week before "
                f"({format_percent(totals.cpa_change, signed=True)}).",
            )
        )
    elif totals.cpa_change is not None and totals.cpa_change <= Decimal("-0.1"):
        found.append(
            _Finding(
                "cpa_falling",
                Severity.INFO,
                cur,
                f"{cur} cost per conversion fell",
                f"CPA {format_money(totals.cpa_minor or 0, cur)} against "
                f"{format_money(totals.previous_cpa_minor or 0, cur)} the week before "
                f"({format_percent(totals.cpa_change, signed=True)}).",
            )
        )
    fatigued = [c for c in group.spending if is_fatigued(c.seven_day_frequency)]
    if fatigued:
        share = totals.fatigued_spend_share
        found.append(
            _Finding(
                "fatigued_spend",
                Severity.CRITICAL if share >= Decimal("0.5") else Severity.WARNING,
                cur,
                f"{cur} spend runs into frequency fatigue",
                f"{len(fatigued)} campaign(s) with 7-day frequency above {FATIGUE_FREQUENCY} took "
                f"{format_percent(share)} of {cur} spend ({format_money(group.fatigued_spend, cur)}).",
                tuple(c.campaign_id for c in fatigued),
            )
        )
    wasted = [c for c in group.spending if c.conversions == 0]
    share = totals.no_conversion_spend_share
    if wasted and share >= Decimal("0.1"):
        found.append(
            _Finding(
                "spend_without_conversions",
                Severity.CRITICAL if share >= Decimal("0.3") else Severity.WARNING,
                cur,
                f"{cur} spend without conversions",
                f"{len(wasted)} campaign(s) spent {format_money(group.no_conversion_spend, cur)} "
                f"({format_percent(share)} of {cur} spend) with no conversion.",
                tuple(c.campaign_id for c in wasted),
            )
        )
    if group.previous_spend == 0:
        found.append(
            _Finding(
                "spend_started",
                Severity.INFO,
                cur,
                f"{cur} spend started this week",
                f"{format_money(group.spend, cur)} spent; nothing the week before.",
            )
        )
    elif totals.spend_change is not None and abs(totals.spend_change) >= Decimal("0.3"):
        found.append(
            _Finding(
                "spend_shift",
                Severity.INFO,
                cur,
                f"{cur} spend {'rose' if totals.spend_change > 0 else 'fell'} sharply",
                f"{format_money(group.spend, cur)} against {format_money(group.previous_spend, cur)} the week "
                f"before ({format_percent(totals.spend_change, signed=True)}).",
            )
        )
    return found


# --- performers, recommendations, alerts ------------------------------------------------------------


def _performer(campaign: CampaignResult, group: CurrencyWeek, roas: Decimal, reasoning: str) -> Performer:
    return Performer(
        connection_id=campaign.connection_id,
        platform=campaign.platform,
        campaign_id=campaign.campaign_id,
        campaign_name=campaign.campaign_name,
        creative_title=campaign.creative_title,
        currency=campaign.currency,
        spend_minor=campaign.spend_minor,
        revenue_minor=campaign.revenue_minor,
        conversions=campaign.conversions,
        roas=roas,
        spend_share=_share(campaign.spend_minor, group.spend),
        reasoning=reasoning,
    )


def performers(groups: Sequence[CurrencyWeek]) -> tuple[list[Performer], list[Performer]]:
    """Top and under performers by ROAS among campaigns with meaningful spend in currencies that track revenue.

    A top performer's ROAS is at or above its currency's blended ROAS, an under performer's below it.
    """
    ranked: list[tuple[Decimal, int, CampaignResult, CurrencyWeek, Decimal]] = []
    for group in groups:
        blended = group.roas
        if not group.revenue_tracked or blended is None:
            continue
        for campaign in group.spending:
            if not has_meaningful_spend(campaign.spend_minor, group.spend):
                continue
            roas = roas_of(campaign.revenue_minor, campaign.spend_minor)
            assert roas is not None  # spending campaigns have spend
            ranked.append((roas, campaign.spend_minor, campaign, group, blended))

    def reasoning(campaign: CampaignResult, group: CurrencyWeek, roas: Decimal, blended: Decimal) -> str:
        cur = group.currency
        return (
            f"ROAS {roas} against {blended} for all {cur} campaigns, on "
            f"{format_percent(_share(campaign.spend_minor, group.spend))} of {cur} spend "
            f"({format_money(campaign.spend_minor, cur)})."
        )

    best = sorted((r for r in ranked if r[0] >= r[4]), key=lambda r: (-r[0], -r[1], r[2].campaign_id))
    worst = sorted((r for r in ranked if r[0] < r[4]), key=lambda r: (r[0], -r[1], r[2].campaign_id))
    top = [_performer(c, g, roas, reasoning(c, g, roas, blended)) for roas, _, c, g, blended in best]
    under = [_performer(c, g, roas, reasoning(c, g, roas, blended)) for roas, _, c, g, blended in worst]
    return top[:PERFORMERS_SHOWN], under[:PERFORMERS_SHOWN]


@dataclass(frozen=True, slots=True)
class _Recommendation:
    action: BudgetAction
    rule: str
    campaign: CampaignResult
    roas: Decimal | None
    cpa_minor: int | None
    reasoning: str


def budget_rule(
    campaign: CampaignResult, group: CurrencyWeek, previous: CampaignResult | None
) -> tuple[BudgetAction, str] | None:
    """The first budget rule that fires for a campaign, in order of urgency (None: leave it as it is).

    Paused and archived campaigns get none.
    """
    if campaign.spend_minor <= 0 or (campaign.status or "").upper() in _INACTIVE_STATUSES:
        return None
    meaningful = has_meaningful_spend(campaign.spend_minor, group.spend)
    roas = ratio(campaign.revenue_minor, campaign.spend_minor)
    blended = ratio(group.revenue, group.spend)
    if meaningful and campaign.conversions == 0:
        if previous is not None and previous.spend_minor > 0 and previous.conversions == 0:
            return BudgetAction.PAUSE, "no_conversions_two_weeks"
        return BudgetAction.DECREASE, "no_conversions_this_week"
    if meaningful and is_fatigued(campaign.seven_day_frequency):
        return BudgetAction.TEST, "frequency_fatigue"
    if group.revenue_tracked and blended is not None and roas is not None:
        if meaningful and roas < ROAS_DECREASE_FACTOR * blended:
            return BudgetAction.DECREASE, "roas_well_below_account"
        if meaningful and roas >= ROAS_INCREASE_FACTOR * blended and roas >= 1:
            return BudgetAction.INCREASE, "roas_well_above_account"
        if not meaningful and campaign.conversions > 0 and roas >= ROAS_INCREASE_FACTOR * blended and blended > 0:
            return BudgetAction.TEST, "promising_low_spend"
        return None
    cpa = ratio(campaign.spend_minor, campaign.conversions)
    account_cpa = group.cpa
    if meaningful and cpa is not None and account_cpa is not None:
        if cpa >= CPA_DECREASE_FACTOR * account_cpa:
            return BudgetAction.DECREASE, "cpa_well_above_account"
        if cpa <= CPA_INCREASE_FACTOR * account_cpa:
            return BudgetAction.INCREASE, "cpa_well_below_account"
    return None


def _recommendation_reasoning(
    rule: str, campaign: CampaignResult, group: CurrencyWeek, previous: CampaignResult | None
) -> str:
    cur = group.currency
    spend = format_money(campaign.spend_minor, cur)
    roas = roas_of(campaign.revenue_minor, campaign.spend_minor)
    blended = group.roas
    cpa = cpa_minor_of(campaign.spend_minor, campaign.conversions)
    account_cpa = cpa_minor_of(group.spend, group.conversions)
    if rule == "no_conversions_two_weeks":
        before = format_money(previous.spend_minor if previous else 0, cur)
        return f"{spend} this week and {before} the week before without a conversion."
    if rule == "no_conversions_this_week":
        return f"{spend} this week without a conversion."
    if rule == "frequency_fatigue":
        return (
            f"7-day frequency {campaign.seven_day_frequency} is above {FATIGUE_FREQUENCY} on {spend}; "
            "test a new creative or a wider audience before adding budget."
        )
    if rule in ("roas_well_below_account", "roas_well_above_account", "promising_low_spend"):
        share = format_percent(_share(campaign.spend_minor, group.spend))
        return f"ROAS {roas} against {blended} for all {cur} campaigns, on {spend} ({share} of {cur} spend)."
    return (
        f"CPA {format_money(cpa or 0, cur)} against {format_money(account_cpa or 0, cur)} for all {cur} "
        f"campaigns, on {spend}."
    )


def budget_recommendations(groups: Sequence[CurrencyWeek]) -> list[_Recommendation]:
    """One recommendation per campaign whose rule fired, most urgent first (pause, decrease, test, increase)."""
    found: list[_Recommendation] = []
    for group in groups:
        before = {c.key: c for c in group.previous}
        for campaign in group.current:
            previous = before.get(campaign.key)
            fired = budget_rule(campaign, group, previous)
            if fired is None:
                continue
            action, rule = fired
            found.append(
                _Recommendation(
                    action=action,
                    rule=rule,
                    campaign=campaign,
                    roas=roas_of(campaign.revenue_minor, campaign.spend_minor),
                    cpa_minor=cpa_minor_of(campaign.spend_minor, campaign.conversions),
                    reasoning=_recommendation_reasoning(rule, campaign, group, previous),
                )
            )
    found.sort(key=lambda r: (_ACTION_ORDER[r.action], -r.campaign.spend_minor, r.campaign.campaign_id))
    return found[:RECOMMENDATIONS_SHOWN]


def frequency_alerts(groups: Sequence[CurrencyWeek]) -> list[FrequencyAlert]:
    """Every campaign with a 7-day frequency above 3.0, highest frequency first."""
    alerts = [
        FrequencyAlert(
            connection_id=c.connection_id,
            platform=c.platform,
            campaign_id=c.campaign_id,
            campaign_name=c.campaign_name,
            creative_title=c.creative_title,
            currency=c.currency,
            spend_minor=c.spend_minor,
            seven_day_frequency=c.seven_day_frequency,  # type: ignore[arg-type]
            threshold=FATIGUE_FREQUENCY,
        )
        for group in groups
        for c in group.current
        if is_fatigued(c.seven_day_frequency)
    ]
    alerts.sort(key=lambda a: (-a.seven_day_frequency, a.campaign_id))
    return alerts


def creative_insights(
    top: Sequence[Performer], under: Sequence[Performer], alerts: Sequence[FrequencyAlert]
) -> list[CreativeInsight]:
    """The creative titles of the best and worst performers, and of fatigued campaigns."""
    insights: list[CreativeInsight] = []
    for kind, group in (("best", top), ("worst", under)):
        for p in group:
            if p.creative_title:
                label = "Best" if kind == "best" else "Weakest"
                insights.append(
                    CreativeInsight(
                        kind=kind,  # type: ignore[arg-type]
                        campaign_id=p.campaign_id,
                        campaign_name=p.campaign_name,
                        platform=p.platform,
                        creative_title=p.creative_title,
                        roas=p.roas,
                        seven_day_frequency=None,
                        note=f"{label} return: ROAS {p.roas} on {format_money(p.spend_minor, p.currency)}.",
                    )
                )
    for a in alerts:
        if a.creative_title:
            insights.append(
                CreativeInsight(
                    kind="fatigued",
                    campaign_id=a.campaign_id,
                    campaign_name=a.campaign_name,
                    platform=a.platform,
                    creative_title=a.creative_title,
                    roas=None,
                    seven_day_frequency=a.seven_day_frequency,
                    note=f"Seen too often: 7-day frequency {a.seven_day_frequency} above {a.threshold}.",
                )
            )
    return insights


def _names(campaigns: Iterable[str], limit: int = 3) -> str:
    names = list(dict.fromkeys(campaigns))
    shown = ", ".join(f"“{name}”" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def quick_wins(
    groups: Sequence[CurrencyWeek],
    recommendations: Sequence[_Recommendation],
    top: Sequence[Performer],
    under: Sequence[Performer],
    alerts: Sequence[FrequencyAlert],
) -> list[QuickWin]:
    """Two or three actions with a visible effect next week, most valuable first.

    Candidates in order: stop spend without conversions, refresh fatigued creatives, move budget from the
    weakest to the best performer of a currency, scale a winner, check revenue tracking; the biggest
    spender's review and next week's targets are always available, so there are at least two.
    """
    candidates: list[tuple[str, str, list[str]]] = []
    stop = [r for r in recommendations if r.rule in ("no_conversions_two_weeks", "no_conversions_this_week")]
    if stop:
        spent = _money_by_currency((r.campaign.currency, r.campaign.spend_minor) for r in stop)
        candidates.append(
            (
                "stop_spend_without_conversions",
                f"Pause or cut {_names(r.campaign.campaign_name for r in stop)}: {spent} spent with no conversion.",
                [r.campaign.campaign_id for r in stop],
            )
        )
    if alerts:
        candidates.append(
            (
                "refresh_fatigued_creative",
                f"Refresh the creative of {_names(a.campaign_name for a in alerts)}: 7-day frequency up to "
                f"{alerts[0].seven_day_frequency}, above {FATIGUE_FREQUENCY}.",
                [a.campaign_id for a in alerts],
            )
        )
    same_currency = [(w, b) for w in under for b in top if w.currency == b.currency]
    if same_currency:
        worst, best = same_currency[0]
        candidates.append(
            (
                "shift_budget",
                f"Move {worst.currency} budget from “{worst.campaign_name}” (ROAS {worst.roas}) to "
                f"“{best.campaign_name}” (ROAS {best.roas}).",
                [worst.campaign_id, best.campaign_id],
            )
        )
    increase = [r for r in recommendations if r.action is BudgetAction.INCREASE]
    if increase:
        first = increase[0]
        candidates.append(
            (
                "scale_winner",
                f"Raise the budget of “{first.campaign.campaign_name}”: {RULE_DESCRIPTIONS[first.rule]}.",
                [first.campaign.campaign_id],
            )
        )
    untracked = [g for g in groups if not g.revenue_tracked]
    if untracked:
        candidates.append(
            (
                "check_revenue_tracking",
                "Check conversion value tracking: "
                + ", ".join(f"{g.conversions} {g.currency} conversions" for g in untracked)
                + " carry no revenue.",
                [],
            )
        )
    biggest = max((c for g in groups for c in g.spending), key=lambda c: (c.spend_minor, c.campaign_id))
    candidates.append(
        (
            "review_biggest_spender",
            f"Review the biggest spender “{biggest.campaign_name}” "
            f"({format_money(biggest.spend_minor, biggest.currency)}) against its target.",
            [biggest.campaign_id],
        )
    )
    targets = "; ".join(
        f"{g.currency} ROAS {g.roas}" if g.revenue_tracked else f"{g.currency} CPA {_cpa_text(g)}" for g in groups
    )
    candidates.append(("set_next_week_targets", f"Set next week's targets from this week's {targets}.", []))
    return [
        QuickWin(id=f"Q{index}", code=code, text=text, campaign_ids=ids)
        for index, (code, text, ids) in enumerate(candidates[:3], start=1)
    ]


def _cpa_text(group: CurrencyWeek) -> str:
    cpa = cpa_minor_of(group.spend, group.conversions)
    return "none (no conversions)" if cpa is None else format_money(cpa, group.currency)


def _money_by_currency(amounts: Iterable[tuple[str, int]]) -> str:
    by_currency: dict[str, int] = defaultdict(int)
    for currency, amount in amounts:
        by_currency[currency] += amount
    return " and ".join(format_money(amount, currency) for currency, amount in sorted(by_currency.items()))


def deterministic_summary(
    week: IsoWeek,
    health: HealthScore,
    totals: Sequence[CurrencyTotals],
    findings: Sequence[Finding],
    recommendations: int,
) -> str:
    """The analyzer's own executive summary, from the numbers only."""
    parts = [f"Week {week}: health {health.score}/100 ({health.status})."]
    for t in totals:
        cur = t.currency
        if t.revenue_tracked:
            before = f"{t.previous_roas}" if t.previous_roas is not None else "no spend"
            parts.append(
                f"{cur}: spend {format_money(t.spend_minor, cur)}, revenue {format_money(t.revenue_minor, cur)}, "
                f"ROAS {t.roas} (week before: {before})."
            )
        else:
            cpa = format_money(t.cpa_minor, cur) if t.cpa_minor is not None else "none"
            parts.append(f"{cur}: spend {format_money(t.spend_minor, cur)}, {t.conversions} conversions, CPA {cpa}.")
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    parts.append(f"{critical} critical and {warnings} warning finding(s); {recommendations} budget recommendation(s).")
    return " ".join(parts)


def analyse_week(
    client_id: str, week: IsoWeek, current: Sequence[CampaignResult], previous: Sequence[CampaignResult]
) -> WeeklyAnalysis | None:
    """The deterministic analysis of a week against the week before; None when nothing was spent in the week."""
    groups = currency_weeks(current, previous)
    if not groups:
        return None
    totals = [currency_totals(group) for group in groups]
    health = health_score(groups)
    raw = [f for group, t in zip(groups, totals, strict=True) for f in _currency_findings(group, t)]
    raw.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.currency or "", f.code))
    findings = [
        Finding(
            id=f"F{index}",
            code=f.code,
            severity=f.severity,
            currency=f.currency,
            title=f.title,
            detail=f.detail,
            reasoning=f.detail,
            campaign_ids=list(f.campaign_ids),
        )
        for index, f in enumerate(raw, start=1)
    ]
    top, under = performers(groups)
    fired = budget_recommendations(groups)
    recommendations = [
        BudgetRecommendation(
            id=f"R{index}",
            action=r.action,
            rule=r.rule,
            rule_description=RULE_DESCRIPTIONS[r.rule],
            connection_id=r.campaign.connection_id,
            platform=r.campaign.platform,
            campaign_id=r.campaign.campaign_id,
            campaign_name=r.campaign.campaign_name,
            currency=r.campaign.currency,
            spend_minor=r.campaign.spend_minor,
            roas=r.roas,
            cpa_minor=r.cpa_minor,
            reasoning=r.reasoning,
        )
        for index, r in enumerate(fired, start=1)
    ]
    alerts = frequency_alerts(groups)
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
        quick_wins=quick_wins(groups, fired, top, under, alerts),
        rules=RULES,
        prose=ProseOrigin(generated_by=DETERMINISTIC),
    )
