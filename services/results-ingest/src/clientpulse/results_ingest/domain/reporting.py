"""The campaign table: each campaign over a range, sortable, with its sparkline and fatigue flag."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.repositories.campaign_days import CampaignDayRepository
from clientpulse.results_ingest.db.repositories.period_reach import PeriodReachRepository, ReachWindow
from clientpulse.results_ingest.domain.aggregation import (
    cpa_minor,
    ctr,
    frequency,
    is_fatigued,
    roas,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE
from clientpulse.results_ingest.domain.windows import TRAILING_REACH_DAYS, is_standard_reach_window
from clientpulse.results_ingest.platforms import REGISTRY, UnknownPlatform


class CampaignSort(enum.StrEnum):
    """Columns the campaign table sorts by."""

    CAMPAIGN_NAME = "campaign_name"
    PLATFORM = "platform"
    STATUS = "status"
    SPEND = "spend"
    ROAS = "roas"
    CPA = "cpa"
    CONVERSIONS = "conversions"
    REVENUE = "revenue"
    CTR = "ctr"
    REACH = "reach"
    FREQUENCY = "frequency"


@dataclass(frozen=True, slots=True)
class CampaignLine:
    """One row of the campaign table."""

    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    status: str | None
    creative_title: str | None
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    revenue_minor: int
    roas: Decimal | None
    cpa_minor: Decimal | None
    ctr: Decimal | None
    reach: int | None
    frequency: Decimal | None
    seven_day_frequency: Decimal | None
    fatigued: bool
    spend_series: list[int]  # one value per day of the window, oldest first
    reach_note: str | None = None  # why there is no reach (and so no frequency), when there is none


_SORT_KEYS = {
    CampaignSort.CAMPAIGN_NAME: lambda r: r.campaign_name.lower(),
    CampaignSort.PLATFORM: lambda r: r.platform,
    CampaignSort.STATUS: lambda r: r.status or "",
    CampaignSort.SPEND: lambda r: r.spend_minor,
    CampaignSort.ROAS: lambda r: r.roas,
    CampaignSort.CPA: lambda r: r.cpa_minor,
    CampaignSort.CONVERSIONS: lambda r: r.conversions,
    CampaignSort.REVENUE: lambda r: r.revenue_minor,
    CampaignSort.CTR: lambda r: r.ctr,
    CampaignSort.REACH: lambda r: r.reach,
    CampaignSort.FREQUENCY: lambda r: r.frequency,
}


def sort_campaigns(lines: list[CampaignLine], by: CampaignSort, descending: bool) -> list[CampaignLine]:
    """Sort by one column; rows without a value (no ROAS without spend…) always come last."""
    key = _SORT_KEYS[by]
    present = [line for line in lines if key(line) is not None]
    missing = [line for line in lines if key(line) is None]
    present.sort(key=lambda line: (key(line), line.campaign_name, line.campaign_id), reverse=descending)
    return present + missing


def filled_series(spend_days: Sequence[int], spends: Sequence[int], days: int) -> list[int]:
    """Spend on every day of the window, 0 where the campaign did not spend (the sparkline has no holes)."""
    series = [0] * days
    for offset, spend in zip(spend_days, spends, strict=True):
        series[offset] = spend
    return series


def reach_for_table(
    windows: Sequence[ReachWindow], window: DateRange
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], tuple[int, int]]]:
    """Per campaign: the reach of exactly the table's window, and (impressions, reach) of the newest
    7-day window ending in the week up to the table's last day (what the fatigue flag reads)."""
    exact: dict[tuple[str, str], int] = {}
    newest: dict[tuple[str, str], ReachWindow] = {}
    for w in windows:
        key = (w.connection_id, w.campaign_id)
        if w.start == window.start and w.end == window.end:
            exact[key] = w.reach
        is_week = (w.end - w.start).days == 6 and 0 <= (window.end - w.end).days <= 7
        if is_week and (key not in newest or newest[key].end < w.end):
            newest[key] = w
    return exact, {key: (w.impressions, w.reach) for key, w in newest.items()}


def reach_note(platform: str, window: DateRange, connection_has_window: bool) -> str:
    """Why a campaign of the table has no reach for the window (reach is never added up over days)."""
    try:
        spec = REGISTRY.get(platform)
        name, reports = spec.name, spec.reports_reach
    except UnknownPlatform:
        name, reports = platform, True
    if not reports:
        return f"{name} does not report the people reached"
    if not is_standard_reach_window(window):
        lengths = ", ".join(str(n) for n in TRAILING_REACH_DAYS)
        return (
            "reach is the platform's own count of people for a window and cannot be added up over days; it is "
            f"stored for the last {lengths} days and for whole weeks, months and quarters, "
            "and this range is none of them"
        )
    if connection_has_window:
        return f"{name} reports no reach for this campaign over this range"
    return f"{name}'s reach for this range has not been read yet; the next sync stores it"


async def campaign_table(
    session: AsyncSession, client_id: str, window: DateRange, by: CampaignSort, descending: bool
) -> list[CampaignLine]:
    """Each campaign over the window: sums, ratios of sums, the spend sparkline and the fatigue flag."""
    campaigns = await CampaignDayRepository(session).campaign_window(client_id, window.start, window.end)
    stored_reach = await PeriodReachRepository(session).reach_windows(client_id, window.start, window.end)
    reach, seven = reach_for_table(stored_reach, window)
    connections_with_window = {connection_id for connection_id, _ in reach}
    lines = []
    for c in campaigns:
        key = (c.connection_id, c.campaign_id)
        conversions = Decimal(c.conversions_e4) / CONVERSION_SCALE
        week = seven.get(key)
        week_frequency = frequency(week[0], week[1]) if week else None
        people = reach.get(key)
        lines.append(
            CampaignLine(
                connection_id=c.connection_id,
                platform=c.platform,
                campaign_id=c.campaign_id,
                campaign_name=c.campaign_name,
                status=c.status,
                creative_title=c.creative_title,
                currency=c.currency,
                spend_minor=c.spend_minor,
                impressions=c.impressions,
                clicks=c.clicks,
                conversions=conversions,
                revenue_minor=c.conversion_value_minor,
                roas=roas(c.conversion_value_minor, c.spend_minor),
                cpa_minor=cpa_minor(c.spend_minor, conversions),
                ctr=ctr(c.clicks, c.impressions),
                reach=people,
                frequency=frequency(c.impressions, people),
                seven_day_frequency=week_frequency,
                fatigued=is_fatigued(week_frequency),
                spend_series=filled_series(c.spend_days, c.spends, window.days),
                reach_note=None
                if people is not None
                else reach_note(c.platform, window, c.connection_id in connections_with_window),
            )
        )
    return sort_campaigns(lines, by, descending)
