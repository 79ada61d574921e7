"""The clients domain rules at their boundaries (DESIGN.md §6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from clientpulse.clients.domain import rules
from clientpulse.shared import goals
from clientpulse.shared.contracts.events import ClientStatus, HealthBand, Tier
from clientpulse.shared.goals import GoalDirection, GoalKind, GoalStatus


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, HealthBand.RED), (39, HealthBand.RED), (40, HealthBand.AMBER), (69, HealthBand.AMBER),
     (70, HealthBand.GREEN), (100, HealthBand.GREEN)],
)  # fmt: skip
def test_health_band_boundaries(score: int, band: HealthBand) -> None:
    assert rules.health_band(score) is band


@pytest.mark.parametrize("score", [-1, 101])
def test_health_outside_0_to_100_is_refused(score: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        rules.health_band(score)


@pytest.mark.parametrize(
    ("tier", "last", "due"),
    [
        (Tier.PLATINUM, date(2026, 1, 15), date(2026, 4, 15)),
        (Tier.CORE, date(2026, 1, 15), date(2026, 7, 15)),
        (Tier.STANDARD, date(2026, 1, 15), date(2027, 1, 15)),
        (Tier.REVIEW, date(2026, 1, 15), date(2027, 1, 15)),
        (None, date(2026, 1, 15), date(2027, 1, 15)),
        (Tier.PLATINUM, date(2026, 11, 30), date(2027, 2, 28)),  # clamped to the shorter month
        (Tier.CORE, date(2027, 8, 31), date(2028, 2, 29)),  # leap year
    ],
)
def test_qbr_due_date_per_tier(tier: Tier | None, last: date, due: date) -> None:
    assert rules.qbr_due_date(tier, last_qbr_on=last, active_since=date(2020, 1, 1)) == due


def test_a_client_with_no_qbr_is_due_one_cadence_after_becoming_active() -> None:
    assert rules.qbr_due_date(Tier.PLATINUM, last_qbr_on=None, active_since=date(2026, 3, 1)) == date(2026, 6, 1)
    assert rules.qbr_due_date(None, last_qbr_on=None, active_since=None) is None


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        (ClientStatus.ACTIVE, date(2026, 6, 1), False),  # the due day itself is not late
        (ClientStatus.ACTIVE, date(2026, 6, 2), True),
        (ClientStatus.DORMANT, date(2026, 9, 1), False),
        (ClientStatus.PROSPECT, date(2026, 9, 1), False),
    ],
)
def test_only_active_clients_past_due_are_overdue(status: ClientStatus, today: date, overdue: bool) -> None:
    assert rules.qbr_overdue(status, date(2026, 6, 1), today) is overdue


def test_overdue_with_no_qbr_yet_once_active_longer_than_one_cadence() -> None:
    due = rules.qbr_due_date(Tier.CORE, last_qbr_on=None, active_since=date(2026, 1, 10))
    assert not rules.qbr_overdue(ClientStatus.ACTIVE, due, date(2026, 7, 10))
    assert rules.qbr_overdue(ClientStatus.ACTIVE, due, date(2026, 7, 11))
    assert not rules.qbr_overdue(ClientStatus.ACTIVE, None, date(2030, 1, 1))


def test_review_gets_a_30_day_action_date() -> None:
    assert rules.review_action_due(date(2026, 12, 1)) == date(2026, 12, 31)


def test_ratings_older_than_90_days_are_stale() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert not rules.is_stale(now - timedelta(days=90), now)
    assert rules.is_stale(now - timedelta(days=90, seconds=1), now)
    assert not rules.is_stale(None, now)


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


def test_group_cycles_are_detected() -> None:
    parents = {"b": "a", "c": "b", "a": None}
    assert rules.creates_group_cycle("a", "c", parents.get)  # a → c → b → a
    assert not rules.creates_group_cycle("d", "c", parents.get)
