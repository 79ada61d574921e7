"""ISO weeks: parsing, the week before, and which week the CronJob analyses by default."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from clientpulse.insights.domain.weeks import IsoWeek, last_complete_week, resolve_week


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2026-W48", date(2026, 11, 23), date(2026, 11, 29)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),  # 2026 is a 53-week ISO year
    ],
)
def test_a_week_runs_monday_to_sunday(value: str, start: date, end: date) -> None:
    week = IsoWeek.parse(value)
    assert (week.start, week.end, str(week)) == (start, end, value)


@pytest.mark.parametrize("value", ["2025-W53", "2026-W00", "2026-48", "2026-W4", "W48", "2026-W48x"])
def test_a_week_that_does_not_exist_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="week"):
        IsoWeek.parse(value)


@pytest.mark.parametrize(
    ("week", "previous"), [("2026-W48", "2026-W47"), ("2026-W01", "2025-W52"), ("2027-W01", "2026-W53")]
)
def test_the_week_before(week: str, previous: str) -> None:
    assert str(IsoWeek.parse(week).previous()) == previous


@pytest.mark.parametrize(
    ("now", "week"),
    [
        (datetime(2026, 11, 30, 5, 0, tzinfo=UTC), "2026-W48"),  # the CronJob on Monday 05:00 UTC
        (datetime(2026, 11, 29, 23, 59, tzinfo=UTC), "2026-W47"),  # Sunday night: W48 is not over
        (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "2025-W52"),
    ],
)
def test_the_last_complete_week(now: datetime, week: str) -> None:
    assert str(last_complete_week(now)) == week
    assert str(resolve_week(None, now)) == week


def test_a_week_that_has_not_ended_is_refused() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="has not ended yet"):
        resolve_week("2026-W48", now)
    assert str(resolve_week("2026-W47", now)) == "2026-W47"
