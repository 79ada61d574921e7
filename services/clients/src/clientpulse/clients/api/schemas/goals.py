"""Request and response bodies of goals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

from clientpulse.clients.db.models import Goal
from clientpulse.shared import goals
from clientpulse.shared.guards import InputModel


class GoalCreate(InputModel):
    """A new goal: target vs current over a period, optionally linked to a results metric."""

    name: str = Field(min_length=1, max_length=200)
    kind: goals.GoalKind = goals.GoalKind.CUMULATIVE
    direction: goals.GoalDirection = goals.GoalDirection.HIGHER
    target: Decimal = Field(allow_inf_nan=False, max_digits=20, decimal_places=4)
    current: Decimal | None = Field(
        default=None, allow_inf_nan=False, max_digits=20, decimal_places=4, description="0 when left out"
    )
    unit: str | None = Field(default=None, max_length=40)
    period_start: date
    period_end: date
    metric: str | None = Field(default=None, min_length=1, max_length=80)


class GoalUpdate(InputModel):
    """Changes to a goal; ``closed: true`` closes it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    direction: goals.GoalDirection | None = None
    target: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=20, decimal_places=4)
    current: Decimal | None = Field(default=None, allow_inf_nan=False, max_digits=20, decimal_places=4)
    unit: str | None = Field(default=None, max_length=40)
    period_start: date | None = None
    period_end: date | None = None
    metric: str | None = Field(default=None, min_length=1, max_length=80)
    closed: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> GoalUpdate:
        nullable = {"unit", "metric"}
        nulls = [n for n in self.model_fields_set if getattr(self, n) is None and n not in nullable]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        if self.closed is False:
            raise ValueError("a closed goal cannot be reopened; leave closed out or set it to true")
        return self


class GoalRead(BaseModel):
    """A goal with its status by the pace rule."""

    id: str
    name: str
    kind: goals.GoalKind
    direction: goals.GoalDirection
    target: Decimal
    current: Decimal
    unit: str | None
    period_start: date
    period_end: date
    metric: str | None
    status: goals.GoalStatus
    closed: bool
    closed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, goal: Goal, *, today: date) -> GoalRead:
        """Map a stored goal, judging its status on ``today``."""
        kind, direction = goals.GoalKind(goal.kind), goals.GoalDirection(goal.direction)
        return cls(
            id=goal.id,
            name=goal.name,
            kind=kind,
            direction=direction,
            target=goal.target,
            current=goal.current,
            unit=goal.unit,
            period_start=goal.period_start,
            period_end=goal.period_end,
            metric=goal.metric,
            status=goals.goal_status(
                kind=kind,
                direction=direction,
                current=goal.current,
                target=goal.target,
                period_start=goal.period_start,
                period_end=goal.period_end,
                today=today,
            ),
            closed=goal.closed_at is not None,
            closed_at=goal.closed_at,
            created_by=goal.created_by,
            created_at=goal.created_at,
            updated_at=goal.updated_at,
        )
