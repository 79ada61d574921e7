"""The report of a bulk company import."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportRowRead(BaseModel):
    """What happened to one row of an import (rows count from 1, after a CSV header)."""

    row: int
    outcome: str = Field(description="created, updated, unchanged or rejected")
    company_id: str | None
    reason: str | None


class ImportRead(BaseModel):
    """The report of a bulk import."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowRead]
