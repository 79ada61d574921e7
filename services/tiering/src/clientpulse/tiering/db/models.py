"""Tables of the tiering service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class LedgerInvoice(Base):
    """One posted invoice or credit note (negative), as billing sent it; idempotent by invoice id."""

    __tablename__ = "ledger_invoices"
    __table_args__ = (Index("ix_ledger_invoices_client_issued", "client_id", "issued_on"),)

    invoice_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(120))
    issued_on: Mapped[date]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_credit_note: Mapped[bool]
    event_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
