"""Frequency fatigue: an audience that saw a campaign's ads too often in seven days."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from clientpulse.insights.domain.analysis import FrequencyAlert
from clientpulse.insights.domain.thresholds import AnalysisThresholds

if TYPE_CHECKING:
    from clientpulse.insights.domain.currency_week import CurrencyWeek

FREQUENCY_ALERT_RULE = "frequency_alert"
FREQUENCY_ALERT_THRESHOLDS = ("fatigue_frequency",)


def is_fatigued(seven_day_frequency: Decimal | None, thresholds: AnalysisThresholds) -> bool:
    """Frequency fatigue: a 7-day frequency above ``fatigue_frequency`` (3.0; exactly 3.0 is not fatigue)."""
    return seven_day_frequency is not None and seven_day_frequency > thresholds.fatigue_frequency


def frequency_alerts(groups: Sequence[CurrencyWeek], thresholds: AnalysisThresholds) -> list[FrequencyAlert]:
    """Every campaign with a 7-day frequency above ``fatigue_frequency``, highest frequency first."""
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
            threshold=thresholds.fatigue_frequency,
        )
        for group in groups
        for c in group.current
        if is_fatigued(c.seven_day_frequency, thresholds)
    ]
    alerts.sort(key=lambda a: (-a.seven_day_frequency, a.campaign_id))
    return alerts
