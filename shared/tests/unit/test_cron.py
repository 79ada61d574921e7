"""The cron expressions of the schedules table: parsing, and the next run at the calendar's edges."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from clientpulse.shared.cron import CronError, parse

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Monthly on the 1st at 02:00: from the end of a 31-, 30-, 29- and 28-day month, and a year's end.
        ("0 2 1 * *", utc(2026, 1, 31, 23, 59), utc(2026, 2, 1, 2, 0)),
        ("0 2 1 * *", utc(2026, 4, 30, 12, 0), utc(2026, 5, 1, 2, 0)),
        ("0 2 1 * *", utc(2028, 2, 29, 2, 0), utc(2028, 3, 1, 2, 0)),
        ("0 2 1 * *", utc(2026, 12, 15, 0, 0), utc(2027, 1, 1, 2, 0)),
        # Exactly at a run: the next one, never the same.
        ("0 2 1 * *", utc(2026, 12, 1, 2, 0), utc(2027, 1, 1, 2, 0)),
        ("0 2 1 * *", utc(2026, 12, 1, 1, 59, 59), utc(2026, 12, 1, 2, 0)),
        # Day 31 only in months that have it; Feb 29 only in leap years.
        ("0 0 31 * *", utc(2026, 4, 1), utc(2026, 5, 31)),
        ("0 0 29 2 *", utc(2026, 3, 1), utc(2028, 2, 29)),
        # Weekly on Monday at 05:00 (2026-12-07 is a Monday); Sunday is 0 and 7.
        ("0 5 * * 1", utc(2026, 12, 6, 12, 0), utc(2026, 12, 7, 5, 0)),
        ("0 5 * * 1", utc(2026, 12, 7, 5, 0), utc(2026, 12, 14, 5, 0)),
        ("0 5 * * mon", utc(2026, 12, 31, 23, 0), utc(2027, 1, 4, 5, 0)),
        ("0 0 * * 7", utc(2026, 12, 7), utc(2026, 12, 13)),
        ("0 0 * * sun", utc(2026, 12, 7), utc(2026, 12, 13)),
        # Daily, steps, ranges, lists, macros.
        ("30 6 * * *", utc(2026, 12, 6, 6, 30), utc(2026, 12, 7, 6, 30)),
        ("*/15 * * * *", utc(2026, 12, 6, 6, 46), utc(2026, 12, 6, 7, 0)),
        ("0 9-17/4 * * *", utc(2026, 12, 6, 13, 1), utc(2026, 12, 6, 17, 0)),
        ("5,10 0 * jan,jul *", utc(2026, 1, 31, 0, 10), utc(2026, 7, 1, 0, 5)),
        ("@monthly", utc(2026, 2, 28, 23, 59), utc(2026, 3, 1, 0, 0)),
        ("@weekly", utc(2026, 12, 7), utc(2026, 12, 13)),
        # Both days restricted: either matches (the 15th, or a Monday).
        ("0 0 15 * 1", utc(2026, 12, 8), utc(2026, 12, 14)),
        ("0 0 15 * 1", utc(2026, 12, 14), utc(2026, 12, 15)),
        # A stepped day of the month with a weekday: both must match (2026-12-07 is a Monday, day 7 odd).
        ("0 0 */2 * 1", utc(2026, 12, 1), utc(2026, 12, 7)),
    ],
)
def test_next_run_in_utc(expression: str, after: datetime, expected: datetime) -> None:
    assert parse(expression).next_after(after) == expected


def test_times_are_wall_clock_times_of_the_time_zone() -> None:
    monthly = parse("0 2 1 * *")
    # 02:00 in Berlin on 1 December is 01:00 UTC (winter), on 1 July 00:00 UTC (summer).
    assert monthly.next_after(utc(2026, 11, 15), BERLIN) == utc(2026, 12, 1, 1, 0)
    assert monthly.next_after(utc(2026, 6, 15), BERLIN) == utc(2026, 7, 1, 0, 0)
    # The 1st in Berlin begins while it is still the 31st in UTC.
    assert parse("0 0 1 * *").next_after(utc(2026, 12, 31, 22, 59), BERLIN) == utc(2026, 12, 31, 23, 0)


def test_a_time_the_clock_skips_runs_when_the_gap_ends() -> None:
    # 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT; 02:30 does not exist that day.
    daily = parse("30 2 * * *")
    assert daily.next_after(utc(2026, 3, 7, 12, 0), NEW_YORK) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert daily.next_after(utc(2026, 3, 8, 7, 0), NEW_YORK) == utc(2026, 3, 9, 6, 30)  # 02:30 EDT next day
    # Several times inside the gap run once, at its end.
    quarterly = parse("*/15 2 * * *")
    assert quarterly.next_after(utc(2026, 3, 8, 6, 59), NEW_YORK) == utc(2026, 3, 8, 7, 0)
    assert quarterly.next_after(utc(2026, 3, 8, 7, 0), NEW_YORK) == utc(2026, 3, 9, 6, 0)
    # Berlin's 2026 spring change: 02:00 CET → 03:00 CEST on 29 March.
    assert parse("30 2 * * *").next_after(utc(2026, 3, 28, 12), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_a_time_that_occurs_twice_runs_once_at_its_first_occurrence() -> None:
    # 2026-11-01: New York goes from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    daily = parse("30 1 * * *")
    first = daily.next_after(utc(2026, 10, 31, 12, 0), NEW_YORK)
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert daily.next_after(first, NEW_YORK) == utc(2026, 11, 2, 6, 30)  # not 01:30 EST the same day
    # Started during the repeated hour, after the first 01:30: the next day's.
    assert daily.next_after(utc(2026, 11, 1, 6, 10), NEW_YORK) == utc(2026, 11, 2, 6, 30)
    # Berlin's autumn change on 25 October 2026: 02:30 happens twice; the first is 00:30 UTC.
    assert parse("30 2 * * *").next_after(utc(2026, 10, 24, 12), BERLIN) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 2 1 *", "expected 5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("0 24 * * *", "outside 0-23"),
        ("0 0 0 * *", "outside 1-31"),
        ("0 0 * 13 *", "outside 1-12"),
        ("0 0 * * 8", "outside 0-7"),
        ("0 5-2 * * *", "reversed"),
        ("*/0 * * * *", "at least 1"),
        ("0 0 * * funday", "not a valid day of week"),
        ("0 0 30 2 *", "never runs"),
        ("@fortnightly", "expected 5 fields"),
    ],
)
def test_invalid_expressions_are_refused_with_the_reason(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse(expression)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse("0 0 * * *").next_after(datetime(2026, 1, 1))
