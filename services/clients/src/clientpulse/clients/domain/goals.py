"""Client goals: a target against a current value over a period, optionally linked to a results metric
whose value over the goal's own period the results service measures (GoalsMeasured); their status
follows the pace rule (docs/domain-rules.md, "Goals").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Goal
from clientpulse.clients.db.repositories.goals import GoalRepository
from clientpulse.clients.domain.history import add_entry, emit
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import GoalChanged, GoalMeasurement
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, NotFound, Unprocessable
from clientpulse.shared.goals import GoalDirection, GoalKind
from clientpulse.shared.identity import Identity


@dataclass(frozen=True, slots=True)
class GoalInput:
    """What a goal says when it is created."""

    name: str
    kind: GoalKind
    direction: GoalDirection
    target: Decimal
    current: Decimal
    unit: str | None
    period_start: date
    period_end: date
    metric: str | None


def _check_goal(goal: Goal) -> None:
    if goal.period_end < goal.period_start:
        raise Unprocessable("period_end is before period_start")
    if goal.kind == GoalKind.CUMULATIVE.value and goal.target <= 0:
        raise Unprocessable("a cumulative goal needs a target above 0")


async def create_goal(session: AsyncSession, identity: Identity, client: Client, fields: GoalInput) -> Goal:
    """Set a new goal."""
    now = utcnow()
    goal = Goal(
        id=new_event_id(),
        client_id=client.id,
        name=fields.name,
        kind=fields.kind.value,
        direction=fields.direction.value,
        target=fields.target,
        current=fields.current,
        unit=fields.unit,
        period_start=fields.period_start,
        period_end=fields.period_end,
        metric=fields.metric,
        created_by=identity.sub,
        created_at=now,
        updated_at=now,
    )
    _check_goal(goal)
    GoalRepository(session).add(goal)
    add_entry(session, client_id=client.id, kind="GoalCreated", line=f"Goal set: {goal.name}", actor=identity.sub)
    await _announce_goal(session, goal, identity.sub)
    return goal


async def _announce_goal(session: AsyncSession, goal: Goal, actor: str) -> None:
    """Publish the goal as it now stands (its history entry is written by the caller)."""
    await emit(
        session,
        GoalChanged(
            client_id=goal.client_id,
            goal_id=goal.id,
            name=goal.name,
            kind=goal.kind,
            direction=goal.direction,
            target=goal.target,
            unit=goal.unit,
            period_start=goal.period_start,
            period_end=goal.period_end,
            metric=goal.metric,
            closed=goal.closed_at is not None,
            changed_by=actor,
        ),
        line=None,
        actor=actor,
    )


async def update_goal(
    session: AsyncSession, identity: Identity, client: Client, goal_id: str, changes: dict[str, Any], close: bool
) -> Goal:
    """Change a goal's fields, or close it."""
    goal = await GoalRepository(session).get(client.id, goal_id)
    if goal is None:
        raise NotFound(f"goal {goal_id} was not found")
    if goal.closed_at is not None and (changes or close):
        raise Conflict(f"goal {goal_id} is closed")
    for key, value in changes.items():
        setattr(goal, key, value.value if hasattr(value, "value") else value)
    _check_goal(goal)
    goal.updated_at = utcnow()
    if close:
        goal.closed_at, goal.closed_by = goal.updated_at, identity.sub
    line = f"Goal closed: {goal.name}" if close else f"Goal updated: {goal.name}"
    add_entry(
        session, client_id=client.id, kind="GoalClosed" if close else "GoalUpdated", line=line, actor=identity.sub
    )
    await _announce_goal(session, goal, identity.sub)
    return goal


def measurement_applies(goal: Goal, measured: GoalMeasurement, at: datetime) -> bool:
    """Whether a measurement from the results service is the newest word on the goal as it now stands:
    the goal is open, still follows that metric over that period, and no newer measurement set it."""
    return (
        goal.closed_at is None
        and goal.metric == measured.metric
        and (goal.period_start, goal.period_end) == (measured.period_start, measured.period_end)
        and (goal.current_at is None or goal.current_at <= at)
    )


async def apply_goal_measurements(
    session: AsyncSession, client_id: str, measurements: Sequence[GoalMeasurement], at: datetime
) -> int:
    """Set the current value of linked goals from the results service's measurements over each goal's own
    period (older measurements never overwrite newer ones)."""
    by_goal = {measured.goal_id: measured for measured in measurements}
    updated = 0
    for goal in await GoalRepository(session).several(client_id, list(by_goal)):
        measured = by_goal[goal.id]
        if not measurement_applies(goal, measured, at):
            continue
        goal.current, goal.current_at, goal.updated_at = measured.current, at, utcnow()
        updated += 1
    return updated
