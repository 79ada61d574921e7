"""A client's link to its Productive company."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from clientpulse.shared.guards import InputModel


class ProductiveLinkWrite(InputModel):
    """Which Productive company the client is (Productive's own company id)."""

    company_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class ProductiveLinkRead(BaseModel):
    """A client's Productive company, and the revenue a recalculation last fetched there."""

    client_id: str
    company_id: str | None = Field(description="null when the client is not linked (no Productive fallback)")
    linked_by: str | None = None
    linked_at: datetime | None = None
    revenue_minor: int | None = Field(default=None, description="base-currency minor units, last fetched")
    revenue_invoices: int | None = None
    revenue_window_end: date | None = None
    revenue_fetched_at: datetime | None = None
