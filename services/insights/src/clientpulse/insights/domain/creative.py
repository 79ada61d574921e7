"""Creative insights: the creative titles of the best and worst performers, and of fatigued campaigns."""

from __future__ import annotations

from collections.abc import Sequence

from clientpulse.insights.domain.analysis import CreativeInsight, FrequencyAlert, Performer
from clientpulse.insights.domain.formatting import format_money


def _performer_insight(kind: str, performer: Performer) -> CreativeInsight:
    label = "Best" if kind == "best" else "Weakest"
    return CreativeInsight(
        kind=kind,  # type: ignore[arg-type]
        campaign_id=performer.campaign_id,
        campaign_name=performer.campaign_name,
        platform=performer.platform,
        creative_title=performer.creative_title or "",
        roas=performer.roas,
        seven_day_frequency=None,
        note=f"{label} return: ROAS {performer.roas} on {format_money(performer.spend_minor, performer.currency)}.",
    )


def _fatigue_insight(alert: FrequencyAlert) -> CreativeInsight:
    return CreativeInsight(
        kind="fatigued",
        campaign_id=alert.campaign_id,
        campaign_name=alert.campaign_name,
        platform=alert.platform,
        creative_title=alert.creative_title or "",
        roas=None,
        seven_day_frequency=alert.seven_day_frequency,
        note=f"Seen too often: 7-day frequency {alert.seven_day_frequency} above {alert.threshold}.",
    )


def creative_insights(
    top: Sequence[Performer], under: Sequence[Performer], alerts: Sequence[FrequencyAlert]
) -> list[CreativeInsight]:
    """The creative titles of the best and worst performers, and of fatigued campaigns (those with a title)."""
    insights = [_performer_insight("best", p) for p in top if p.creative_title]
    insights += [_performer_insight("worst", p) for p in under if p.creative_title]
    insights += [_fatigue_insight(a) for a in alerts if a.creative_title]
    return insights
