"""Request and response bodies of QBRs."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from clientpulse.clients.db.models import Qbr
from clientpulse.shared.guards import InputModel


class QbrCreate(InputModel):
    """A QBR that was held."""

    held_on: date
    internal_attendees: list[str] = Field(default_factory=list, max_length=100)
    client_attendees: list[str] = Field(default_factory=list, max_length=100)
    summary: str = Field(min_length=1, max_length=20000)
    outcomes: list[str] = Field(default_factory=list, max_length=100)


class QbrUpdate(InputModel):
    """Corrections to a logged QBR."""

    held_on: date | None = None
    internal_attendees: list[str] | None = Field(default=None, max_length=100)
    client_attendees: list[str] | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, min_length=1, max_length=20000)
    outcomes: list[str] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_nulls(self) -> QbrUpdate:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        return self


class QbrRead(BaseModel):
    """A logged QBR."""

    id: str
    held_on: date
    internal_attendees: list[str]
    client_attendees: list[str]
    summary: str
    outcomes: list[str]
    logged_by: str
    logged_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, qbr: Qbr) -> QbrRead:
        """Map a stored QBR."""
        return cls(
            id=qbr.id,
            held_on=qbr.held_on,
            internal_attendees=qbr.internal_attendees,
            client_attendees=qbr.client_attendees,
            summary=qbr.summary,
            outcomes=qbr.outcomes,
            logged_by=qbr.logged_by,
            logged_at=qbr.logged_at,
            updated_at=qbr.updated_at,
        )
