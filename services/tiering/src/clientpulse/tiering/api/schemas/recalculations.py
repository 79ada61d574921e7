"""Monthly recalculation runs, and asking for one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from clientpulse.shared.guards import InputModel


class RecalculationCreate(InputModel):
    """Ask for a period's recalculation."""

    period: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM: revenue is the 12 months ending with this month"
    )


class RecalculationRead(BaseModel):
    """A recalculation run (or a request not yet run)."""

    period: str
    status: str = Field(description="requested or completed")
    event_id: str
    run_id: str | None = None
    requested_by: str | None = None
    completed_at: datetime | None = None
    recalculated: int | None = None
    changed: int | None = None
    skipped_never_scored: int | None = None
    failed: int | None = None
