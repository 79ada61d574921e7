"""Budget recommendations: for each campaign, the first budget rule that fires, in order of urgency.

Each rule is named, reads named thresholds and says why it fired; the table ``BUDGET_RULES`` is the
order in which they are tried. Paused and archived campaigns, and campaigns without spend, get none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.insights.domain.analysis import BudgetAction, CampaignResult
from clientpulse.insights.domain.currency_week import CurrencyWeek, has_meaningful_spend
from clientpulse.insights.domain.formatting import format_money, format_percent
from clientpulse.insights.domain.frequency import is_fatigued
from clientpulse.insights.domain.ratios import cpa_minor_of, ratio, roas_of, share_of
from clientpulse.insights.domain.thresholds import AnalysisThresholds, percent_text

RECOMMENDATIONS_SHOWN = 12
ACTION_ORDER = {BudgetAction.PAUSE: 0, BudgetAction.DECREASE: 1, BudgetAction.TEST: 2, BudgetAction.INCREASE: 3}
_INACTIVE_STATUSES = {"PAUSED", "ARCHIVED"}


@dataclass(frozen=True, slots=True)
class CampaignWeek:
    """What the budget rules judge: a campaign's week beside its currency's, and the thresholds in force."""

    campaign: CampaignResult
    group: CurrencyWeek
    previous: CampaignResult | None
    thresholds: AnalysisThresholds

    @property
    def meaningful(self) -> bool:
        """The campaign took at least ``meaningful_spend_share`` of its currency's spend."""
        return has_meaningful_spend(self.campaign.spend_minor, self.group.spend, self.thresholds)

    @property
    def roas_against_blend(self) -> tuple[Decimal, Decimal] | None:
        """(campaign ROAS, blended ROAS) when the currency tracks revenue; None: the CPA rules judge it."""
        roas = ratio(self.campaign.revenue_minor, self.campaign.spend_minor)
        blended = ratio(self.group.revenue, self.group.spend)
        if not self.group.revenue_tracked or roas is None or blended is None:
            return None
        return roas, blended

    @property
    def cpa_against_account(self) -> tuple[Decimal, Decimal] | None:
        """(campaign CPA, currency CPA) on meaningful spend, where revenue is not tracked; else None."""
        if self.roas_against_blend is not None or not self.meaningful:
            return None
        cpa, account_cpa = ratio(self.campaign.spend_minor, self.campaign.conversions), self.group.cpa
        return None if cpa is None or account_cpa is None else (cpa, account_cpa)


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """A named budget rule: its action, the thresholds it reads, when it fires and why."""

    name: str
    action: BudgetAction
    thresholds: tuple[str, ...]
    fires: Callable[[CampaignWeek], bool]
    describe: Callable[[AnalysisThresholds], str]
    reasoning: Callable[[CampaignWeek], str]

    def description(self, thresholds: AnalysisThresholds) -> str:
        """The rule in words, with the thresholds in force."""
        return self.describe(thresholds)


# --- when each rule fires -------------------------------------------------------------------------


def _no_conversions_two_weeks(w: CampaignWeek) -> bool:
    before = w.previous
    return _no_conversions_this_week(w) and before is not None and before.spend_minor > 0 and before.conversions == 0


def _no_conversions_this_week(w: CampaignWeek) -> bool:
    return w.meaningful and w.campaign.conversions == 0


def _frequency_fatigue(w: CampaignWeek) -> bool:
    return w.meaningful and is_fatigued(w.campaign.seven_day_frequency, w.thresholds)


def _roas_well_below_account(w: CampaignWeek) -> bool:
    pair = w.roas_against_blend
    return pair is not None and w.meaningful and pair[0] < w.thresholds.roas_decrease_factor * pair[1]


def _roas_well_above_account(w: CampaignWeek) -> bool:
    pair, t = w.roas_against_blend, w.thresholds
    return (
        pair is not None
        and w.meaningful
        and pair[0] >= t.roas_increase_factor * pair[1]
        and pair[0] >= t.roas_break_even
    )


def _promising_low_spend(w: CampaignWeek) -> bool:
    pair = w.roas_against_blend
    return (
        pair is not None
        and not w.meaningful
        and w.campaign.conversions > 0
        and pair[0] >= w.thresholds.roas_increase_factor * pair[1]
        and pair[1] > 0
    )


def _cpa_well_above_account(w: CampaignWeek) -> bool:
    pair = w.cpa_against_account
    return pair is not None and pair[0] >= w.thresholds.cpa_decrease_factor * pair[1]


def _cpa_well_below_account(w: CampaignWeek) -> bool:
    pair = w.cpa_against_account
    return pair is not None and pair[0] <= w.thresholds.cpa_increase_factor * pair[1]


# --- why it fired ---------------------------------------------------------------------------------


def _spend_text(w: CampaignWeek) -> str:
    return format_money(w.campaign.spend_minor, w.group.currency)


def _no_conversions_two_weeks_reasoning(w: CampaignWeek) -> str:
    before = format_money(w.previous.spend_minor if w.previous else 0, w.group.currency)
    return f"{_spend_text(w)} this week and {before} the week before without a conversion."


def _no_conversions_this_week_reasoning(w: CampaignWeek) -> str:
    return f"{_spend_text(w)} this week without a conversion."


def _frequency_fatigue_reasoning(w: CampaignWeek) -> str:
    return (
        f"7-day frequency {w.campaign.seven_day_frequency} is above {w.thresholds.fatigue_frequency} on "
        f"{_spend_text(w)}; test a new creative or a wider audience before adding budget."
    )


def _roas_reasoning(w: CampaignWeek) -> str:
    cur = w.group.currency
    roas = roas_of(w.campaign.revenue_minor, w.campaign.spend_minor)
    share = format_percent(share_of(w.campaign.spend_minor, w.group.spend))
    return f"ROAS {roas} against {w.group.roas} for all {cur} campaigns, on {_spend_text(w)} ({share} of {cur} spend)."


def _cpa_reasoning(w: CampaignWeek) -> str:
    cur = w.group.currency
    cpa = cpa_minor_of(w.campaign.spend_minor, w.campaign.conversions)
    account_cpa = cpa_minor_of(w.group.spend, w.group.conversions)
    return (
        f"CPA {format_money(cpa or 0, cur)} against {format_money(account_cpa or 0, cur)} for all {cur} "
        f"campaigns, on {_spend_text(w)}."
    )


BUDGET_RULES: tuple[BudgetRule, ...] = (
    BudgetRule(
        "no_conversions_two_weeks",
        BudgetAction.PAUSE,
        ("meaningful_spend_share",),
        _no_conversions_two_weeks,
        lambda t: "meaningful spend and no conversion this week nor the week before",
        _no_conversions_two_weeks_reasoning,
    ),
    BudgetRule(
        "no_conversions_this_week",
        BudgetAction.DECREASE,
        ("meaningful_spend_share",),
        _no_conversions_this_week,
        lambda t: "meaningful spend and no conversion this week",
        _no_conversions_this_week_reasoning,
    ),
    BudgetRule(
        "frequency_fatigue",
        BudgetAction.TEST,
        ("meaningful_spend_share", "fatigue_frequency"),
        _frequency_fatigue,
        lambda t: f"7-day frequency above {t.fatigue_frequency} on meaningful spend",
        _frequency_fatigue_reasoning,
    ),
    BudgetRule(
        "roas_well_below_account",
        BudgetAction.DECREASE,
        ("meaningful_spend_share", "roas_decrease_factor"),
        _roas_well_below_account,
        lambda t: f"ROAS below {t.roas_decrease_factor} × the currency's blended ROAS on meaningful spend",
        _roas_reasoning,
    ),
    BudgetRule(
        "roas_well_above_account",
        BudgetAction.INCREASE,
        ("meaningful_spend_share", "roas_increase_factor", "roas_break_even"),
        _roas_well_above_account,
        lambda t: (
            f"ROAS at least {t.roas_increase_factor} × the currency's blended ROAS (and at least "
            f"{t.roas_break_even}) on meaningful spend"
        ),
        _roas_reasoning,
    ),
    BudgetRule(
        "promising_low_spend",
        BudgetAction.TEST,
        ("meaningful_spend_share", "roas_increase_factor"),
        _promising_low_spend,
        lambda t: (
            f"under {percent_text(t.meaningful_spend_share)} of the currency's spend with ROAS at least "
            f"{t.roas_increase_factor} × the blended ROAS"
        ),
        _roas_reasoning,
    ),
    BudgetRule(
        "cpa_well_above_account",
        BudgetAction.DECREASE,
        ("meaningful_spend_share", "cpa_decrease_factor"),
        _cpa_well_above_account,
        lambda t: f"revenue not tracked; CPA at least {t.cpa_decrease_factor} × the currency's CPA on meaningful spend",
        _cpa_reasoning,
    ),
    BudgetRule(
        "cpa_well_below_account",
        BudgetAction.INCREASE,
        ("meaningful_spend_share", "cpa_increase_factor"),
        _cpa_well_below_account,
        lambda t: f"revenue not tracked; CPA at most {t.cpa_increase_factor} × the currency's CPA on meaningful spend",
        _cpa_reasoning,
    ),
)


def budget_rule_of(week: CampaignWeek) -> BudgetRule | None:
    """The first rule of ``BUDGET_RULES`` that fires for a campaign (None: leave it as it is)."""
    campaign = week.campaign
    if campaign.spend_minor <= 0 or (campaign.status or "").upper() in _INACTIVE_STATUSES:
        return None
    return next((rule for rule in BUDGET_RULES if rule.fires(week)), None)


def budget_rule(
    campaign: CampaignResult, group: CurrencyWeek, previous: CampaignResult | None, thresholds: AnalysisThresholds
) -> tuple[BudgetAction, str] | None:
    """The action and name of the first budget rule that fires for a campaign (None: leave it as it is)."""
    rule = budget_rule_of(CampaignWeek(campaign, group, previous, thresholds))
    return None if rule is None else (rule.action, rule.name)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A budget rule that fired for a campaign, before it is numbered."""

    rule: BudgetRule
    campaign: CampaignResult
    roas: Decimal | None
    cpa_minor: int | None
    reasoning: str

    @property
    def action(self) -> BudgetAction:
        """What the rule asks for."""
        return self.rule.action


def fired_budget_rules(groups: Sequence[CurrencyWeek], thresholds: AnalysisThresholds) -> list[Recommendation]:
    """Every campaign whose budget rule fired, most urgent first (pause, decrease, test, increase)."""
    found: list[Recommendation] = []
    for group in groups:
        before = {c.key: c for c in group.previous}
        for campaign in group.current:
            week = CampaignWeek(campaign, group, before.get(campaign.key), thresholds)
            rule = budget_rule_of(week)
            if rule is None:
                continue
            found.append(
                Recommendation(
                    rule=rule,
                    campaign=campaign,
                    roas=roas_of(campaign.revenue_minor, campaign.spend_minor),
                    cpa_minor=cpa_minor_of(campaign.spend_minor, campaign.conversions),
                    reasoning=rule.reasoning(week),
                )
            )
    found.sort(key=lambda r: (ACTION_ORDER[r.action], -r.campaign.spend_minor, r.campaign.campaign_id))
    return found
