"""Tier overrides: setting one, and how it reads beside the computed score."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.guards import InputModel


class OverrideRead(BaseModel):
    """A tier set by hand."""

    tier: Tier
    reason: str
    expires_at: datetime | None
    set_by: str
    set_at: datetime


class OverrideCreate(InputModel):
    """Set the effective tier by hand."""

    tier: Tier
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    expires_at: AwareDatetime | None = Field(default=None, description="with a time zone; none: until cleared")
