"""Request and response bodies of health scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictInt, field_validator

from clientpulse.clients.db.models import HealthScore
from clientpulse.shared.contracts.events import HealthBand
from clientpulse.shared.guards import InputModel

HEALTH_COLOURS = {HealthBand.GREEN: "#16a34a", HealthBand.AMBER: "#f59e0b", HealthBand.RED: "#dc2626"}


class HealthCreate(InputModel):
    """A health score: an integer 0–100 with an optional note."""

    score: StrictInt = Field(ge=0, le=100)
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("score", mode="before")
    @classmethod
    def _integer_only(cls, value: Any) -> Any:
        # Litestar may hand over a lax-decoded value; "50" and 50.0 are not integers a user typed.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("score must be an integer from 0 to 100")
        return value


class HealthRead(BaseModel):
    """A recorded health score."""

    id: str
    score: int
    band: HealthBand
    colour: str
    note: str | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, entry: HealthScore) -> HealthRead:
        """Map a stored score."""
        band = HealthBand(entry.band)
        return cls(
            id=entry.id,
            score=entry.score,
            band=band,
            colour=HEALTH_COLOURS[band],
            note=entry.note,
            recorded_by=entry.recorded_by,
            recorded_at=entry.recorded_at,
        )
