"""Goal status by the pace rule at its boundaries (docs/domain-rules.md, "Goals")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clientpulse.shared import goals
from clientpulse.shared.goals import GoalDirection, GoalKind, GoalStatus

START, END = date(2026, 1, 1), date(2026, 1, 10)  # ten days; on Jan 5 half the period has passed


@pytest.mark.parametrize(
    ("current", "status"),
    [
        ("50", GoalStatus.ON_TRACK),  # pace 1.0
        ("49.99", GoalStatus.AT_RISK),
        ("45", GoalStatus.AT_RISK),  # pace 0.9
        ("44.99", GoalStatus.OFF_TRACK),
    ],
)
def test_cumulative_goal_by_pace(current: str, status: GoalStatus) -> None:
    got = goals.goal_status(
        kind=GoalKind.CUMULATIVE, direction=GoalDirection.HIGHER, current=Decimal(current), target=Decimal(100),
        period_start=START, period_end=END, today=date(2026, 1, 5),
    )  # fmt: skip
    assert got is status


def test_a_cumulative_goal_before_its_period_is_on_track() -> None:
    got = goals.goal_status(
        kind=GoalKind.CUMULATIVE, direction=GoalDirection.HIGHER, current=Decimal(0), target=Decimal(100),
        period_start=START, period_end=END, today=date(2025, 12, 31),
    )  # fmt: skip
    assert got is GoalStatus.ON_TRACK


@pytest.mark.parametrize(
    ("direction", "current", "status"),
    [
        (GoalDirection.HIGHER, "4.0", GoalStatus.ON_TRACK),
        (GoalDirection.HIGHER, "3.6", GoalStatus.AT_RISK),  # exactly 10 % below
        (GoalDirection.HIGHER, "3.59", GoalStatus.OFF_TRACK),
        (GoalDirection.LOWER, "4.0", GoalStatus.ON_TRACK),
        (GoalDirection.LOWER, "4.4", GoalStatus.AT_RISK),
        (GoalDirection.LOWER, "4.41", GoalStatus.OFF_TRACK),
    ],
)
def test_level_goal_against_target_in_its_direction(direction: GoalDirection, current: str, status: GoalStatus) -> None:
    got = goals.goal_status(
        kind=GoalKind.LEVEL, direction=direction, current=Decimal(current), target=Decimal("4.0"),
        period_start=START, period_end=END, today=date(2026, 1, 5),
    )  # fmt: skip
    assert got is status
