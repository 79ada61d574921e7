"""The revenue ledger: invoices from billing, and trailing-12-month revenue per client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.db import utcnow
from clientpulse.tiering.db.repositories.ledger import LedgerRepository


def trailing_year_start(today: date) -> date:
    """First day of the trailing-12-month window ending today (same day a year earlier, plus one)."""
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28)
    return date.fromordinal(start.toordinal() + 1)


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """Revenue in one currency over the window."""

    currency: str
    amount_minor: int
    invoices: int


def ledger_row(invoice: InvoicePosted, *, event_id: str, recorded_at: datetime) -> dict[str, object]:
    """The ledger's row of an invoice: a credit note is negative whatever sign the sender used, and any
    negative amount is a credit note. The one rule for InvoicePosted and for imported files."""
    amount = invoice.amount_minor
    if invoice.is_credit_note and amount > 0:
        amount = -amount
    return {
        "invoice_id": invoice.invoice_id,
        "client_id": invoice.client_id,
        "number": invoice.number,
        "issued_on": invoice.issued_on,
        "amount_minor": amount,
        "currency": invoice.currency,
        "is_credit_note": invoice.is_credit_note or amount < 0,
        "event_id": event_id,
        "recorded_at": recorded_at,
    }


async def post_invoice(session: AsyncSession, envelope: Envelope[InvoicePosted]) -> bool:
    """Add an invoice to the ledger; a second copy of the same invoice id changes nothing."""
    row = ledger_row(envelope.data, event_id=envelope.id, recorded_at=utcnow())
    return await LedgerRepository(session).add_if_new(row)


async def post_invoices(session: AsyncSession, envelopes: list[Envelope[InvoicePosted]]) -> None:
    """``post_invoice`` of each, in one statement (a batch of the ledger's consumer)."""
    recorded_at = utcnow()
    rows = [ledger_row(e.data, event_id=e.id, recorded_at=recorded_at) for e in envelopes]
    await LedgerRepository(session).add_many_if_new(rows)


async def trailing_revenue(session: AsyncSession, client_id: str, today: date) -> list[CurrencyTotal]:
    """Trailing-12-month revenue per currency (conversion to the base currency comes with scoring)."""
    rows = await LedgerRepository(session).totals_since(client_id, trailing_year_start(today))
    return [CurrencyTotal(currency, amount, count) for currency, amount, count in rows]
