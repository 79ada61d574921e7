"""What the results API answers: account metrics for a period with deltas, and the campaign table."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.repositories import ResultsRepository
from clientpulse.results_ingest.domain.aggregation import (
    Delta,
    cpa_minor,
    ctr,
    frequency,
    is_fatigued,
    period_delta,
    roas,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric over the current and the previous window."""

    category: str
    metric: str
    currency: str | None
    current: Decimal | None
    previous: Decimal | None
    delta: Delta


def _value(metric: str, raw: int) -> Decimal:
    if metric.endswith("_e4"):
        return Decimal(raw) / CONVERSION_SCALE
    return Decimal(raw)


def _public_name(metric: str) -> str:
    return metric.removesuffix("_e4")


async def account_metrics(
    session: AsyncSession, client_id: str, current: DateRange, previous: DateRange
) -> tuple[list[MetricLine], bool]:
    """Every stored metric of the client with its delta, plus ROAS, CPA and CTR from the sums."""
    repository = ResultsRepository(session)
    now = {
        (c, k, cur): v for c, k, cur, v in await repository.account_metric_sums(client_id, current.start, current.end)
    }
    before = {
        (c, k, cur): v for c, k, cur, v in await repository.account_metric_sums(client_id, previous.start, previous.end)
    }
    lines: list[MetricLine] = []
    for key in sorted(set(now) | set(before), key=lambda k: (k[0], k[1], k[2] or "")):
        category, metric, currency = key
        cur, prev = _value(metric, now.get(key, 0)), _value(metric, before.get(key, 0))
        lines.append(MetricLine(category, _public_name(metric), currency, cur, prev, period_delta(cur, prev)))
    lines.extend(_derived(now, before))
    unfinal = await repository.has_unfinal_days(client_id, current.start, current.end)
    return lines, unfinal


def _derived(
    now: dict[tuple[str, str, str | None], int], before: dict[tuple[str, str, str | None], int]
) -> list[MetricLine]:
    def total(sums: dict[tuple[str, str, str | None], int], metric: str, currency: str | None = None) -> int:
        return sum(
            v
            for (c, k, cur), v in sums.items()
            if c == "advertising" and k == metric and (currency is None or cur == currency)
        )

    lines = []
    currencies = sorted(
        {cur for (c, k, cur) in set(now) | set(before) if c == "advertising" and k == "spend_minor" and cur}
    )
    for currency in currencies:
        # Money ratios stay inside one currency; spend and revenue of one account share it.
        def spend(s: dict[Any, int], cur: str = currency) -> int:
            return total(s, "spend_minor", cur)

        def conversions(s: dict[Any, int], cur: str = currency) -> Decimal:
            # Conversions are counts, stored without a currency; with one currency they all belong to it.
            counted = total(s, "conversions_e4", cur) or (total(s, "conversions_e4") if len(currencies) == 1 else 0)
            return Decimal(counted) / CONVERSION_SCALE

        def revenue(s: dict[Any, int], cur: str = currency) -> int:
            return total(s, "conversion_value_minor", cur)

        r_now, r_before = roas(revenue(now), spend(now)), roas(revenue(before), spend(before))
        lines.append(MetricLine("advertising", "roas", currency, r_now, r_before, period_delta(r_now, r_before)))
        c_now, c_before = cpa_minor(spend(now), conversions(now)), cpa_minor(spend(before), conversions(before))
        lines.append(MetricLine("advertising", "cpa_minor", currency, c_now, c_before, period_delta(c_now, c_before)))
    t_now = ctr(total(now, "clicks"), total(now, "impressions"))
    t_before = ctr(total(before, "clicks"), total(before, "impressions"))
    if now or before:
        lines.append(MetricLine("advertising", "ctr", None, t_now, t_before, period_delta(t_now, t_before)))
    return lines


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


def _filled_series(points: list[tuple[date, int]], days: list[date]) -> list[int]:
    """Spend on every day of the window, 0 where the campaign did not spend (the sparkline has no holes)."""
    by_day = dict(points)
    return [by_day.get(day, 0) for day in days]


async def campaign_table(
    session: AsyncSession, client_id: str, window: DateRange, by: CampaignSort, descending: bool
) -> list[CampaignLine]:
    """Each campaign over the window: sums, ratios of sums, the spend sparkline and the fatigue flag."""
    repository = ResultsRepository(session)
    rows, series = await repository.campaign_rows_with_series(client_id, window.start, window.end)
    reach = await repository.period_reach(client_id, window.start, window.end)
    seven = await repository.latest_seven_day_reach(client_id, window.end)
    days = [window.start + timedelta(days=i) for i in range(window.days)]
    lines = []
    for row in rows:
        key = (row["connection_id"], row["campaign_id"])
        conversions = Decimal(int(row["conversions_e4"])) / CONVERSION_SCALE
        spend, impressions = int(row["spend_minor"]), int(row["impressions"])
        week = seven.get(key)
        week_frequency = frequency(week[0], week[1]) if week else None
        people = reach.get(key)
        lines.append(
            CampaignLine(
                connection_id=row["connection_id"],
                platform=row["platform"],
                campaign_id=row["campaign_id"],
                campaign_name=row["campaign_name"],
                status=row["status"],
                creative_title=row["creative_title"],
                currency=row["currency"],
                spend_minor=spend,
                impressions=impressions,
                clicks=int(row["clicks"]),
                conversions=conversions,
                revenue_minor=int(row["conversion_value_minor"]),
                roas=roas(int(row["conversion_value_minor"]), spend),
                cpa_minor=cpa_minor(spend, conversions),
                ctr=ctr(int(row["clicks"]), impressions),
                reach=people,
                frequency=frequency(impressions, people),
                seven_day_frequency=week_frequency,
                fatigued=is_fatigued(week_frequency),
                spend_series=_filled_series(series.get(key, []), days),
            )
        )
    return sort_campaigns(lines, by, descending)
