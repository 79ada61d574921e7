"""Quick wins: two or three actions with a visible effect next week, most valuable first.

Candidates in order: stop spend without conversions, refresh fatigued creatives, move budget from the
weakest to the best performer of a currency, scale a winner, check revenue tracking; the biggest
spender's review and next week's targets are always available, so there are at least two.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from clientpulse.insights.domain.analysis import BudgetAction, FrequencyAlert, Performer, QuickWin
from clientpulse.insights.domain.budget import Recommendation
from clientpulse.insights.domain.currency_week import CurrencyWeek
from clientpulse.insights.domain.formatting import format_money
from clientpulse.insights.domain.ratios import cpa_minor_of
from clientpulse.insights.domain.thresholds import AnalysisThresholds

QUICK_WINS_SHOWN = 3
_STOP_RULES = ("no_conversions_two_weeks", "no_conversions_this_week")


@dataclass(frozen=True, slots=True)
class WeekOutcome:
    """What the quick wins are drawn from: the week's currencies, fired budget rules, performers and alerts."""

    groups: Sequence[CurrencyWeek]
    recommendations: Sequence[Recommendation]
    top: Sequence[Performer]
    under: Sequence[Performer]
    alerts: Sequence[FrequencyAlert]
    thresholds: AnalysisThresholds


# (code, text, campaign ids) of a candidate quick win
Candidate = tuple[str, str, list[str]]


def _names(campaigns: Iterable[str], limit: int = 3) -> str:
    names = list(dict.fromkeys(campaigns))
    shown = ", ".join(f"“{name}”" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _money_by_currency(amounts: Iterable[tuple[str, int]]) -> str:
    by_currency: dict[str, int] = defaultdict(int)
    for currency, amount in amounts:
        by_currency[currency] += amount
    return " and ".join(format_money(amount, currency) for currency, amount in sorted(by_currency.items()))


def _stop_spend_without_conversions(week: WeekOutcome) -> Candidate | None:
    stop = [r for r in week.recommendations if r.rule.name in _STOP_RULES]
    if not stop:
        return None
    spent = _money_by_currency((r.campaign.currency, r.campaign.spend_minor) for r in stop)
    return (
        "stop_spend_without_conversions",
        f"Pause or cut {_names(r.campaign.campaign_name for r in stop)}: {spent} spent with no conversion.",
        [r.campaign.campaign_id for r in stop],
    )


def _refresh_fatigued_creative(week: WeekOutcome) -> Candidate | None:
    alerts = week.alerts
    if not alerts:
        return None
    return (
        "refresh_fatigued_creative",
        f"Refresh the creative of {_names(a.campaign_name for a in alerts)}: 7-day frequency up to "
        f"{alerts[0].seven_day_frequency}, above {week.thresholds.fatigue_frequency}.",
        [a.campaign_id for a in alerts],
    )


def _shift_budget(week: WeekOutcome) -> Candidate | None:
    same_currency = [(w, b) for w in week.under for b in week.top if w.currency == b.currency]
    if not same_currency:
        return None
    worst, best = same_currency[0]
    return (
        "shift_budget",
        f"Move {worst.currency} budget from “{worst.campaign_name}” (ROAS {worst.roas}) to "
        f"“{best.campaign_name}” (ROAS {best.roas}).",
        [worst.campaign_id, best.campaign_id],
    )


def _scale_winner(week: WeekOutcome) -> Candidate | None:
    increase = [r for r in week.recommendations if r.action is BudgetAction.INCREASE]
    if not increase:
        return None
    first = increase[0]
    return (
        "scale_winner",
        f"Raise the budget of “{first.campaign.campaign_name}”: {first.rule.description(week.thresholds)}.",
        [first.campaign.campaign_id],
    )


def _check_revenue_tracking(week: WeekOutcome) -> Candidate | None:
    untracked = [g for g in week.groups if not g.revenue_tracked]
    if not untracked:
        return None
    conversions = ", ".join(f"{g.conversions} {g.currency} conversions" for g in untracked)
    return ("check_revenue_tracking", f"Check conversion value tracking: {conversions} carry no revenue.", [])


def _review_biggest_spender(week: WeekOutcome) -> Candidate | None:
    biggest = max((c for g in week.groups for c in g.spending), key=lambda c: (c.spend_minor, c.campaign_id))
    return (
        "review_biggest_spender",
        f"Review the biggest spender “{biggest.campaign_name}” "
        f"({format_money(biggest.spend_minor, biggest.currency)}) against its target.",
        [biggest.campaign_id],
    )


def _cpa_text(group: CurrencyWeek) -> str:
    cpa = cpa_minor_of(group.spend, group.conversions)
    return "none (no conversions)" if cpa is None else format_money(cpa, group.currency)


def _set_next_week_targets(week: WeekOutcome) -> Candidate | None:
    targets = "; ".join(
        f"{g.currency} ROAS {g.roas}" if g.revenue_tracked else f"{g.currency} CPA {_cpa_text(g)}" for g in week.groups
    )
    return ("set_next_week_targets", f"Set next week's targets from this week's {targets}.", [])


QUICK_WIN_CANDIDATES: tuple[Callable[[WeekOutcome], Candidate | None], ...] = (
    _stop_spend_without_conversions,
    _refresh_fatigued_creative,
    _shift_budget,
    _scale_winner,
    _check_revenue_tracking,
    _review_biggest_spender,
    _set_next_week_targets,
)


def quick_wins(week: WeekOutcome) -> list[QuickWin]:
    """The first two or three candidates of ``QUICK_WIN_CANDIDATES`` that apply to the week."""
    candidates = [found for candidate in QUICK_WIN_CANDIDATES if (found := candidate(week)) is not None]
    return [
        QuickWin(id=f"Q{index}", code=code, text=text, campaign_ids=ids)
        for index, (code, text, ids) in enumerate(candidates[:QUICK_WINS_SHOWN], start=1)
    ]
