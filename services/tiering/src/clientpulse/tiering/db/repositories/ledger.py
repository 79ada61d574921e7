"""The revenue ledger (``ledger_invoices``), built from InvoicePosted."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts
from clientpulse.tiering.db.models import LedgerInvoice


class LedgerRepository:
    """The revenue ledger built from InvoicePosted."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_new(self, values: dict[str, object]) -> bool:
        """Insert an invoice unless its id is already in the ledger; True when inserted."""
        statement = insert_ignoring_conflicts(self.session, LedgerInvoice.__table__).values(**values)
        result = await self.session.execute(statement)
        return affected_rows(result) == 1

    async def add_all_if_new(self, rows: list[dict[str, object]]) -> None:
        """Insert each invoice unless its id is already in the ledger (or earlier in ``rows``)."""
        if rows:
            await self.session.execute(insert_ignoring_conflicts(self.session, LedgerInvoice.__table__), rows)

    async def totals_since(self, client_id: str, since: date) -> list[tuple[str, int, int]]:
        """(currency, amount in minor units, invoice count) per currency, issued on or after ``since``."""
        query = (
            select(LedgerInvoice.currency, func.sum(LedgerInvoice.amount_minor), func.count())
            .where(LedgerInvoice.client_id == client_id, LedgerInvoice.issued_on >= since)
            .group_by(LedgerInvoice.currency)
            .order_by(LedgerInvoice.currency)
        )
        return [(row[0], int(row[1] or 0), int(row[2])) for row in (await self.session.execute(query)).all()]

    async def daily_totals(self, client_id: str, since: date, until: date) -> list[tuple[str, date, int, int]]:
        """(currency, day, amount in minor units, invoice count) per currency and issue day in the window."""
        query = (
            select(LedgerInvoice.currency, LedgerInvoice.issued_on, func.sum(LedgerInvoice.amount_minor), func.count())
            .where(
                LedgerInvoice.client_id == client_id,
                LedgerInvoice.issued_on >= since,
                LedgerInvoice.issued_on <= until,
            )
            .group_by(LedgerInvoice.currency, LedgerInvoice.issued_on)
        )
        rows = (await self.session.execute(query)).all()
        return [(row[0], row[1], int(row[2] or 0), int(row[3])) for row in rows]
