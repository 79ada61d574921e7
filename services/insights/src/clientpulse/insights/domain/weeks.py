"""ISO weeks (Monday to Sunday) as the weekly analysis names them: ``2026-W48``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_WEEK = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """One ISO week of one ISO year."""

    year: int
    week: int

    @classmethod
    def parse(cls, value: str) -> IsoWeek:
        """Read ``YYYY-Www``; a week the ISO year does not have (``2026-W53``) is refused."""
        match = _WEEK.match(value.strip())
        if match is None:
            raise ValueError(f"week must look like 2026-W48, got {value!r}")
        year, week = int(match["year"]), int(match["week"])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{value} is not a week of ISO year {year}") from None
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        """The ISO week a day belongs to."""
        calendar = day.isocalendar()
        return cls(calendar.year, calendar.week)

    @property
    def start(self) -> date:
        """Its Monday."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        """Its Sunday."""
        return self.start + timedelta(days=6)

    def previous(self) -> IsoWeek:
        """The week before (across a year boundary when needed)."""
        return IsoWeek.containing(self.start - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


def last_complete_week(now: datetime) -> IsoWeek:
    """The newest ISO week that has ended by ``now`` (in UTC): on a Monday, the week that ended yesterday."""
    return IsoWeek.containing(now.date()).previous()


def resolve_week(value: str | None, now: datetime) -> IsoWeek:
    """The week to analyse: ``None`` or ``previous`` means the last complete week; a week not yet over is refused."""
    if value is None or value == "previous":
        return last_complete_week(now)
    week = IsoWeek.parse(value)
    if week.end >= now.date():
        raise ValueError(f"week {week} has not ended yet; analyse a week up to {last_complete_week(now)}")
    return week
