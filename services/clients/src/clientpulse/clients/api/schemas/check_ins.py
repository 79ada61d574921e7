"""Request and response bodies of monthly check-ins and Review decisions."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from clientpulse.clients.db.models import CheckIn
from clientpulse.shared.contracts.events import ReviewDecision
from clientpulse.shared.guards import InputModel


class CheckInCreate(InputModel):
    """A check-in that was held; ``held_by`` defaults to the caller."""

    held_on: date
    held_by: str | None = Field(default=None, min_length=1, max_length=120, description="who held it")
    notes: str = Field(default="", max_length=20000)


class CheckInRead(BaseModel):
    """A logged check-in."""

    id: str
    held_on: date
    held_by: str
    notes: str
    logged_by: str
    logged_at: datetime

    @classmethod
    def of(cls, check_in: CheckIn) -> CheckInRead:
        """Map a stored check-in."""
        return cls(
            id=check_in.id,
            held_on=check_in.held_on,
            held_by=check_in.held_by,
            notes=check_in.notes,
            logged_by=check_in.logged_by,
            logged_at=check_in.logged_at,
        )


class ReviewDecisionCreate(InputModel):
    """What was decided for a client in Review, and why."""

    decision: ReviewDecision
    reason: str = Field(min_length=1, max_length=5000)


class ReviewDecisionRead(BaseModel):
    """The decision that closed a Review client's 30-day action."""

    client_id: str
    decision: ReviewDecision
    reason: str
    decided_by: str
    decided_at: datetime
