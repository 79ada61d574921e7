"""Bodies of ``/api/v1/tiering/invoices``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InvoiceRowRead(BaseModel):
    """What happened to one row of an invoice import (rows count from 1, after a CSV header)."""

    row: int
    outcome: str = Field(description="created, unchanged or rejected")
    invoice_id: str | None
    client_id: str | None
    field: str | None = Field(description="the field at fault when rejected")
    reason: str | None


class InvoiceImportRead(BaseModel):
    """The report of an invoice import."""

    import_id: str = Field(description="kept as the event id of every ledger row this import created")
    created: int
    unchanged: int
    rejected: int
    clients: int = Field(description="distinct clients of the created rows")
    rows: list[InvoiceRowRead]
