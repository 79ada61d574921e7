"""GA4 Data API reports (``runReport``) read into the traffic metrics of the catalogue.

A report answers in positional rows: ``dimensionHeaders`` and ``metricHeaders`` name the columns,
and each row's ``dimensionValues`` / ``metricValues`` follow the headers' order, every value a
string. Columns are read by the headers' names, never by the order they were asked in. ``date`` is
``YYYYMMDD`` in the property's reporting time zone, the account's own days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from clientpulse.results_ingest.connectors.base import PlatformError
from clientpulse.results_ingest.domain.catalogue import (
    ENGAGED_SESSIONS,
    KEY_EVENTS,
    NEW_USERS,
    PURCHASE_REVENUE,
    SESSIONS,
    TOTAL_USERS,
    TRANSACTIONS,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import Breakdown, MetricDay, WindowFigure, conversions_to_scaled
from clientpulse.shared.money import to_minor_units

DATE = "date"
CHANNEL_GROUP = "sessionDefaultChannelGroup"
DATE_RANGE = "dateRange"
# The breakdown dimension the engine stores a channel group's part under.
CHANNEL_BREAKDOWN = "channel_group"
# GA4 metric → catalogue metric, for the metrics that add up over days and channel groups.
# ``keyEvents`` replaced ``conversions`` (2024) and may be fractional; it is kept in ten-thousandths.
DAILY_METRICS: dict[str, str] = {
    "sessions": SESSIONS.key,
    "engagedSessions": ENGAGED_SESSIONS.key,
    "newUsers": NEW_USERS.key,
    "keyEvents": KEY_EVENTS.key,
    "transactions": TRANSACTIONS.key,
    "purchaseRevenue": PURCHASE_REVENUE.key,
}
WINDOW_METRIC = "totalUsers"


class ReportUnreadable(PlatformError):
    """A report whose rows do not match its headers, or whose values are not numbers."""


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """One of the property's quotas as a report states it."""

    consumed: int
    remaining: int

    @property
    def limit(self) -> int:
        """The quota's size (what was consumed plus what remains)."""
        return self.consumed + self.remaining


@dataclass(frozen=True, slots=True)
class ReportPage:
    """One page of a report: its rows by column name, the report's total row count and the quotas."""

    rows: list[dict[str, str]]
    row_count: int
    quota: dict[str, QuotaStatus]


def _names(headers: Any) -> list[str]:
    return [str(header["name"]) for header in headers or []]


def parse_quota(raw: Any) -> dict[str, QuotaStatus]:
    """``propertyQuota``: each quota's consumed and remaining tokens or requests (absent ones left out)."""
    found: dict[str, QuotaStatus] = {}
    for name, status in (raw or {}).items():
        if isinstance(status, dict):
            found[name] = QuotaStatus(int(status.get("consumed", 0)), int(status.get("remaining", 0)))
    return found


def parse_report(body: Mapping[str, Any]) -> ReportPage:
    """A ``RunReportResponse`` page: each row as {column name: value}, in whatever order the headers are."""
    dimensions, metrics = _names(body.get("dimensionHeaders")), _names(body.get("metricHeaders"))
    rows = []
    for row in body.get("rows") or []:
        dimension_values = [str(v.get("value", "")) for v in row.get("dimensionValues") or []]
        metric_values = [str(v.get("value", "0")) for v in row.get("metricValues") or []]
        if len(dimension_values) != len(dimensions) or len(metric_values) != len(metrics):
            raise ReportUnreadable(
                f"a row has {len(dimension_values)} dimension and {len(metric_values)} metric values "
                f"for {len(dimensions)} and {len(metrics)} headers"
            )
        row_values = zip([*dimensions, *metrics], [*dimension_values, *metric_values], strict=True)
        rows.append(dict(row_values))
    # rowCount is the whole report's size; a report without rows leaves it out.
    return ReportPage(rows, int(body.get("rowCount") or 0), parse_quota(body.get("propertyQuota")))


def report_date(value: str) -> date:
    """GA4's ``date`` dimension (``YYYYMMDD``, a day of the property's time zone)."""
    if len(value) != 8 or not value.isdigit():
        raise ReportUnreadable(f"{value!r} is not a GA4 date (YYYYMMDD)")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _decimal(value: str, metric: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ReportUnreadable(f"{metric} {value!r} is not a number") from None
    if not number.is_finite():
        raise ReportUnreadable(f"{metric} {value!r} is not a number")
    return number


def metric_value(metric: str, value: str, currency: str) -> int:
    """One GA4 metric value in the catalogue's unit: money in minor units, key events in ten-thousandths,
    counts as whole numbers."""
    number = _decimal(value, metric)
    if metric == "purchaseRevenue":
        return to_minor_units(number, currency)
    if metric == "keyEvents":
        return conversions_to_scaled(number)
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _column(row: Mapping[str, str], name: str) -> str:
    if name not in row:
        raise ReportUnreadable(f"the report has no {name} column (it has {', '.join(row)})")
    return row[name]


def _days(window: DateRange) -> list[date]:
    return [window.start + timedelta(days=i) for i in range(window.days)]


def _day_rows(day: date, sums: Mapping[str, int], currency: str, breakdown: Breakdown | None = None) -> list[MetricDay]:
    return [
        MetricDay(
            day=day,
            metric_key=key,
            value=sums.get(key, 0),
            currency=currency if key == PURCHASE_REVENUE.key else None,
            breakdown=breakdown,
        )
        for key in DAILY_METRICS.values()
    ]


def traffic_days(rows: Iterable[Mapping[str, str]], window: DateRange, currency: str) -> list[MetricDay]:
    """Every day of the window: the property's sums (over its channel groups) and each group's part.

    A day without rows is zeros; a channel group seen anywhere in the window gets a row on every day
    (zeros included), so a re-read replaces what was stored for it.
    """
    by_group: dict[tuple[date, str], dict[str, int]] = {}
    for row in rows:
        day = report_date(_column(row, DATE))
        if not window.start <= day <= window.end:
            continue
        sums = by_group.setdefault((day, _column(row, CHANNEL_GROUP)), {})
        for metric, key in DAILY_METRICS.items():
            sums[key] = sums.get(key, 0) + metric_value(metric, _column(row, metric), currency)
    groups = sorted({group for _, group in by_group})
    out: list[MetricDay] = []
    for day in _days(window):
        parts = [by_group.get((day, group), {}) for group in groups]
        total = {key: sum(part.get(key, 0) for part in parts) for key in DAILY_METRICS.values()}
        out.extend(_day_rows(day, total, currency))
        for group, part in zip(groups, parts, strict=True):
            out.extend(_day_rows(day, part, currency, Breakdown(CHANNEL_BREAKDOWN, group, group)))
    return out


def window_users(
    rows: Iterable[Mapping[str, str]], windows: Mapping[str, DateRange], *, by_channel: bool
) -> list[WindowFigure]:
    """``totalUsers`` per named date range (GA4's own count of people over the window, never a sum of days).

    ``windows`` maps each date range's name in the request to its window; rows of a report broken
    down by channel group give each group's count.
    """
    # A report of one date range has no ``dateRange`` column: its rows are that range's.
    only = next(iter(windows)) if len(windows) == 1 else ""
    figures = []
    for row in rows:
        window = windows.get(row.get(DATE_RANGE) or only)
        if window is None:
            continue
        group = _column(row, CHANNEL_GROUP) if by_channel else None
        breakdown = Breakdown(CHANNEL_BREAKDOWN, group, group) if group is not None else None
        value = metric_value(WINDOW_METRIC, _column(row, WINDOW_METRIC), "")
        figures.append(WindowFigure(window.start, window.end, TOTAL_USERS.key, value, breakdown))
    return figures


def missing_windows(figures: Sequence[WindowFigure], windows: Iterable[DateRange]) -> list[WindowFigure]:
    """Zero users for each window the property's report had no row for (nobody visited)."""
    seen = {(f.start, f.end) for f in figures if f.breakdown is None}
    return [WindowFigure(w.start, w.end, TOTAL_USERS.key, 0) for w in windows if (w.start, w.end) not in seen]
