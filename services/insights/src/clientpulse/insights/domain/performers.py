"""The week's top and under performers by ROAS, among campaigns with meaningful spend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from clientpulse.insights.domain.analysis import CampaignResult, Performer
from clientpulse.insights.domain.currency_week import CurrencyWeek, has_meaningful_spend
from clientpulse.insights.domain.formatting import format_money, format_percent
from clientpulse.insights.domain.ratios import roas_of, share_of
from clientpulse.insights.domain.thresholds import AnalysisThresholds

PERFORMERS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class _Ranked:
    roas: Decimal
    campaign: CampaignResult
    group: CurrencyWeek
    blended: Decimal


def _performer(ranked: _Ranked) -> Performer:
    campaign, group, cur = ranked.campaign, ranked.group, ranked.group.currency
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
        roas=ranked.roas,
        spend_share=share_of(campaign.spend_minor, group.spend),
        reasoning=(
            f"ROAS {ranked.roas} against {ranked.blended} for all {cur} campaigns, on "
            f"{format_percent(share_of(campaign.spend_minor, group.spend))} of {cur} spend "
            f"({format_money(campaign.spend_minor, cur)})."
        ),
    )


def _ranked(groups: Sequence[CurrencyWeek], thresholds: AnalysisThresholds) -> list[_Ranked]:
    """Campaigns with meaningful spend in currencies that track revenue, with their ROAS and the blend."""
    ranked: list[_Ranked] = []
    for group in groups:
        blended = group.roas
        if not group.revenue_tracked or blended is None:
            continue
        for campaign in group.spending:
            if not has_meaningful_spend(campaign.spend_minor, group.spend, thresholds):
                continue
            roas = roas_of(campaign.revenue_minor, campaign.spend_minor)
            assert roas is not None  # spending campaigns have spend
            ranked.append(_Ranked(roas, campaign, group, blended))
    return ranked


def performers(
    groups: Sequence[CurrencyWeek], thresholds: AnalysisThresholds
) -> tuple[list[Performer], list[Performer]]:
    """Top and under performers by ROAS among campaigns with meaningful spend in currencies that track revenue.

    A top performer's ROAS is at or above its currency's blended ROAS, an under performer's below it.
    """
    ranked = _ranked(groups, thresholds)
    best = sorted(
        (r for r in ranked if r.roas >= r.blended),
        key=lambda r: (-r.roas, -r.campaign.spend_minor, r.campaign.campaign_id),
    )
    worst = sorted(
        (r for r in ranked if r.roas < r.blended),
        key=lambda r: (r.roas, -r.campaign.spend_minor, r.campaign.campaign_id),
    )
    return [_performer(r) for r in best[:PERFORMERS_SHOWN]], [_performer(r) for r in worst[:PERFORMERS_SHOWN]]
