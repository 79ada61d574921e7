"""The goal status rule (docs/domain-rules.md, "Goals"), shared by the clients service (which keeps goals) and
results-ingest (which shows the status beside the metric a goal is linked to). Pure functions.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

ON_TRACK_PACE = Decimal("1.0")
AT_RISK_PACE = Decimal("0.9")
LEVEL_TOLERANCE = Decimal("0.10")


class GoalKind(enum.StrEnum):
    """A cumulative goal sums up over its period (revenue, orders); a level goal is a ratio or score."""

    CUMULATIVE = "cumulative"
    LEVEL = "level"


class GoalDirection(enum.StrEnum):
    """Whether a higher or a lower value is better."""

    HIGHER = "higher"
    LOWER = "lower"


class GoalStatus(enum.StrEnum):
    """How a goal is doing."""

    ON_TRACK = "On Track"
    AT_RISK = "At Risk"
    OFF_TRACK = "Off Track"


def elapsed_share(start: date, end: date, today: date) -> Decimal:
    """The share of a period that has passed, 0 before it starts and 1 after its last day."""
    total = (end - start).days + 1
    passed = (min(max(today, start - timedelta(days=1)), end) - start).days + 1
    return Decimal(passed) / Decimal(total)


def goal_pace(current: Decimal, target: Decimal, share: Decimal) -> Decimal | None:
    """pace = current ÷ (target × elapsed share); None when nothing is expected yet."""
    expected = target * share
    if expected <= 0:
        return None
    return current / expected


def _by_pace(pace: Decimal | None) -> GoalStatus:
    if pace is None or pace >= ON_TRACK_PACE:
        return GoalStatus.ON_TRACK
    if pace >= AT_RISK_PACE:
        return GoalStatus.AT_RISK
    return GoalStatus.OFF_TRACK


def goal_status(
    *,
    kind: GoalKind,
    direction: GoalDirection,
    current: Decimal,
    target: Decimal,
    period_start: date,
    period_end: date,
    today: date,
) -> GoalStatus:
    """On Track / At Risk / Off Track.

    Cumulative: by pace, On Track at ≥ 1.0, At Risk at ≥ 0.9, Off Track below; for a lower-is-better
    total (a spend cap) the pace is inverted, so spending ahead of plan counts against it.
    Level: On Track at or better than target, At Risk within 10 % of it, Off Track beyond.
    """
    if kind is GoalKind.CUMULATIVE:
        share = elapsed_share(period_start, period_end, today)
        if direction is GoalDirection.HIGHER:
            return _by_pace(goal_pace(current, target, share))
        if current <= 0:
            return GoalStatus.ON_TRACK
        return _by_pace((target * share) / current)
    tolerance = abs(target) * LEVEL_TOLERANCE
    better: Callable[[Decimal, Decimal], bool] = (
        (lambda a, b: a >= b) if direction is GoalDirection.HIGHER else (lambda a, b: a <= b)
    )
    if better(current, target):
        return GoalStatus.ON_TRACK
    if abs(current - target) <= tolerance:
        return GoalStatus.AT_RISK
    return GoalStatus.OFF_TRACK
