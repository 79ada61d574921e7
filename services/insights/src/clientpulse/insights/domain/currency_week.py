"""A currency's week: its campaigns of the analysed week and the week before, and their sums.

Everything is computed per currency: amounts of different currencies are never added.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.insights.domain.analysis import CampaignResult, CurrencyTotals
from clientpulse.insights.domain.frequency import is_fatigued
from clientpulse.insights.domain.ratios import change_of, cpa_minor_of, ratio, roas_of, share_of
from clientpulse.insights.domain.thresholds import AnalysisThresholds


def has_meaningful_spend(spend_minor: int, currency_spend_minor: int, thresholds: AnalysisThresholds) -> bool:
    """At least ``meaningful_spend_share`` (5 %) of its currency's weekly spend (and some spend at all)."""
    return (
        spend_minor > 0
        and currency_spend_minor > 0
        and spend_minor >= thresholds.meaningful_spend_share * currency_spend_minor
    )


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

    def fatigued(self, thresholds: AnalysisThresholds) -> tuple[CampaignResult, ...]:
        """Campaigns that spent this week with frequency fatigue."""
        return tuple(c for c in self.spending if is_fatigued(c.seven_day_frequency, thresholds))

    def fatigued_spend(self, thresholds: AnalysisThresholds) -> int:
        """Spend in campaigns with frequency fatigue."""
        return sum(c.spend_minor for c in self.current if is_fatigued(c.seven_day_frequency, thresholds))

    @property
    def without_conversions(self) -> tuple[CampaignResult, ...]:
        """Campaigns that spent this week and converted nothing."""
        return tuple(c for c in self.spending if c.conversions == 0)

    @property
    def no_conversion_spend(self) -> int:
        """Spend in campaigns that converted nothing."""
        return sum(c.spend_minor for c in self.without_conversions)


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


def currency_totals(group: CurrencyWeek, thresholds: AnalysisThresholds) -> CurrencyTotals:
    """A currency's sums and ratios, this week against the week before."""
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
        spend_change=change_of(group.spend, group.previous_spend),
        cpa_change=change_of(group.cpa, group.previous_cpa),
        fatigued_spend_share=share_of(group.fatigued_spend(thresholds), group.spend),
        no_conversion_spend_share=share_of(group.no_conversion_spend, group.spend),
        revenue_tracked=group.revenue_tracked,
    )
