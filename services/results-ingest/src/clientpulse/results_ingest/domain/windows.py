"""How far back a platform restates its numbers, how backfills are cut into slices, and which
windows a sync asks each platform's own reach for."""

from __future__ import annotations

from datetime import date, timedelta

from clientpulse.results_ingest.domain.periods import DateRange, PeriodKind, last_complete_period, period_containing

BACKFILL_DAYS = (30, 60, 90)
# "Last N days" windows (ending yesterday) whose reach each sync stores.
TRAILING_REACH_DAYS = (7, 14, 30, 60, 90)
# Last complete periods whose reach each sync stores.
REACH_PERIODS = (PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER)


def reread_window(reread_days: int, today: date) -> DateRange:
    """The trailing days a sync re-reads: up to yesterday in the account's time zone."""
    end = today - timedelta(days=1)
    return DateRange(end - timedelta(days=reread_days - 1), end)


def final_before(reread_days: int, today: date) -> date:
    """Days before this date are outside the re-read window and final."""
    return reread_window(reread_days, today).start


def backfill_range(days: int, today: date) -> DateRange:
    """The ``days`` complete days before ``today``."""
    end = today - timedelta(days=1)
    return DateRange(end - timedelta(days=days - 1), end)


def slices(window: DateRange, size: int) -> list[DateRange]:
    """Consecutive sub-ranges of at most ``size`` days covering ``window`` exactly once."""
    if size < 1:
        raise ValueError("a slice has at least one day")
    out: list[DateRange] = []
    start = window.start
    while start <= window.end:
        end = min(start + timedelta(days=size - 1), window.end)
        out.append(DateRange(start, end))
        start = end + timedelta(days=1)
    return out


def standard_reach_windows(today: date) -> list[DateRange]:
    """The windows whose reach a sync stores: the last 7, 14, 30, 60 and 90 days (ending yesterday)
    and the last complete week, month and quarter, each once, oldest-ending last."""
    yesterday = today - timedelta(days=1)
    windows = [DateRange(yesterday - timedelta(days=n - 1), yesterday) for n in TRAILING_REACH_DAYS]
    windows += [last_complete_period(kind, today)[0] for kind in REACH_PERIODS]
    return list(dict.fromkeys(windows))


def is_standard_reach_window(window: DateRange) -> bool:
    """Whether a sync stores reach for windows of this shape: 7, 14, 30, 60 or 90 days, or a whole
    calendar week, month or quarter."""
    if window.days in TRAILING_REACH_DAYS:
        return True
    return any(period_containing(kind, window.start) == window for kind in REACH_PERIODS)
