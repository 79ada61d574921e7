"""Standard 5-field cron expressions, as Kubernetes CronJobs read them, and their next run in a time zone.

``minute hour day-of-month month day-of-week``, each ``*``, a number, a range ``a-b``, a step
``*/n``, ``a-b/n`` or ``a/n`` (from ``a`` to the field's end), or a list of these; months and days of
the week by name too (``jan``, ``mon``); Sunday is 0 or 7. ``@yearly`` (``@annually``), ``@monthly``,
``@weekly``, ``@daily`` (``@midnight``) and ``@hourly`` stand for their usual expressions. When both
the day of the month and the day of the week are restricted (neither starts with ``*``), a day
matching either runs, as in cron.

Times are wall-clock times in the schedule's time zone. Where a clock change skips a time (spring
forward), the run happens when the skipped stretch ends; a time that occurs twice (fall back) runs
once, at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names from the lowest on)
FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, WEEKDAYS),
)
# The longest a valid expression waits between two runs is a leap day's four years; past eight, none.
SEARCH_DAYS = 8 * 366


class CronError(ValueError):
    """The expression is not a valid cron expression; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed expression: the allowed values of each field."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday … 6 = Sunday, as date.weekday()
    days_restricted: bool
    weekdays_restricted: bool

    def runs_on(self, day: date) -> bool:
        """Whether the expression has runs on this calendar day."""
        if day.month not in self.months:
            return False
        in_month, in_week = day.day in self.days, day.weekday() in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, moment: datetime, zone: tzinfo = UTC) -> datetime:
        """The first run strictly after ``moment`` (aware), as an aware UTC datetime."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        start = (moment.astimezone(zone) + timedelta(minutes=1)).replace(second=0, microsecond=0, tzinfo=None)
        day = start.date()
        for _ in range(SEARCH_DAYS):
            if self.runs_on(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        wall = datetime.combine(day, time(hour, minute))
                        if wall < start:
                            continue
                        instant = wall_to_instant(wall, zone)
                        if instant > moment:
                            return instant
            day += timedelta(days=1)
        raise CronError(f"{self.expression!r} never runs")


def wall_to_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time: its first occurrence, or the end of the gap it falls in."""
    probe = wall
    for _ in range(2 * 24 * 60):
        instant = probe.replace(tzinfo=zone).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == probe:
            return instant
        probe += timedelta(minutes=1)
    raise CronError(f"{wall.isoformat()} does not exist in {zone}")


def parse(expression: str) -> Cron:
    """Parse an expression (or a macro); CronError says what is wrong."""
    text = MACROS.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise CronError(f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week)")
    values = [_field(part, *spec, expression) for part, spec in zip(parts, FIELDS, strict=True)]
    minutes, hours, days, months, weekdays = values
    cron = Cron(
        expression=expression,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset((d - 1) % 7 for d in weekdays),  # cron's 0 and 7 are Sunday, date's 6
        days_restricted=not parts[2].startswith(("*", "?")),
        weekdays_restricted=not parts[4].startswith(("*", "?")),
    )
    cron.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # one that never runs (30 February) is refused
    return cron


def _field(text: str, name: str, low: int, high: int, names: list[str], expression: str) -> set[int]:
    allowed: set[int] = set()
    for item in text.lower().split(","):
        span, _, step_text = item.partition("/")
        step = _number(step_text, name, expression, names=[]) if step_text else 1
        if step < 1:
            raise CronError(f"{expression!r}: the step of the {name} must be at least 1")
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first = _number(first_text, name, expression, names, low)
            last = _number(last_text, name, expression, names, low)
        else:
            first = _number(span, name, expression, names, low)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise CronError(f"{expression!r}: the {name} {item!r} is outside {low}-{high} or reversed")
        allowed.update(range(first, last + 1, step))
    return allowed


def _number(text: str, name: str, expression: str, names: list[str], offset: int = 0) -> int:
    if text in names:
        return names.index(text) + offset
    if not text.isdigit():
        raise CronError(f"{expression!r}: {text!r} is not a valid {name}")
    return int(text)
