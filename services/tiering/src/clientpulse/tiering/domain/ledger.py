"""The revenue ledger: invoices from billing, and trailing-12-month revenue per client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def ledger_row(envelope: Envelope[InvoicePosted]) -> dict[str, object]:
    """The ledger row of an invoice (credit notes negative)."""
    invoice = envelope.data
    amount = invoice.amount_minor
    if invoice.is_credit_note and amount > 0:
        amount = -amount  # credit notes reduce revenue whatever sign the sender used
    return {
        "invoice_id": invoice.invoice_id,
        "client_id": invoice.client_id,
        "number": invoice.number,
        "issued_on": invoice.issued_on,
        "amount_minor": amount,
        "currency": invoice.currency,
        "is_credit_note": invoice.is_credit_note or amount < 0,
        "event_id": envelope.id,
        "recorded_at": utcnow(),
    }


async def post_invoice(session: AsyncSession, envelope: Envelope[InvoicePosted]) -> bool:
    """Add an invoice to the ledger; a second copy of the same invoice id changes nothing."""
    return await LedgerRepository(session).add_if_new(ledger_row(envelope))


async def post_invoices(session: AsyncSession, envelopes: list[Envelope[InvoicePosted]]) -> None:
    """``post_invoice`` of each, in one statement (a batch of the ledger's consumer)."""
    await LedgerRepository(session).add_all_if_new([ledger_row(envelope) for envelope in envelopes])


async def trailing_revenue(session: AsyncSession, client_id: str, today: date) -> list[CurrencyTotal]:
    """Trailing-12-month revenue per currency (conversion to the base currency comes with scoring)."""
    rows = await LedgerRepository(session).totals_since(client_id, trailing_year_start(today))
    return [CurrencyTotal(currency, amount, count) for currency, amount, count in rows]
