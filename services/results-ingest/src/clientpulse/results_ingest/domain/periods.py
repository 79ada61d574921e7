"""Reporting periods: the last complete week, month, quarter or year, and the one before it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta


class PeriodKind(enum.StrEnum):
    """The periods the metrics view compares."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive range of account-local dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the range."""
        return (self.end - self.start).days + 1


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + (day.month - 1) - months_back
    return date(index // 12, index % 12 + 1, 1)


def period_containing(kind: PeriodKind, day: date) -> DateRange:
    """The calendar period of ``kind`` that contains ``day`` (weeks run Monday to Sunday)."""
    if kind is PeriodKind.WEEK:
        start = day - timedelta(days=day.weekday())
        return DateRange(start, start + timedelta(days=6))
    if kind is PeriodKind.MONTH:
        start = _month_start(day)
        return DateRange(start, _month_start(day, -1) - timedelta(days=1))
    if kind is PeriodKind.QUARTER:
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return DateRange(start, _month_start(start, -3) - timedelta(days=1))
    return DateRange(date(day.year, 1, 1), date(day.year, 12, 31))


def last_complete_period(kind: PeriodKind, today: date) -> tuple[DateRange, DateRange]:
    """The last period of ``kind`` that ended before ``today``, and the period before that one."""
    current = period_containing(kind, period_containing(kind, today).start - timedelta(days=1))
    previous = period_containing(kind, current.start - timedelta(days=1))
    return current, previous


def previous_range(window: DateRange) -> DateRange:
    """The range of the same length right before ``window`` (for custom ranges)."""
    end = window.start - timedelta(days=1)
    return DateRange(end - timedelta(days=window.days - 1), end)
