"""The revenue ledger (``ledger_invoices``), built from InvoicePosted."""

from __future__ import annotations

from datetime import date
from typing import Any

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

    async def add_many_if_new(self, rows: list[dict[str, object]]) -> set[str]:
        """Insert invoices in one statement, skipping ids already in the ledger; the ids inserted."""
        if not rows:
            return set()
        # Executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
        # without compiling a statement per batch's shape.
        table = LedgerInvoice.__table__
        statement = insert_ignoring_conflicts(self.session, table).returning(table.c.invoice_id)
        return set((await self.session.execute(statement, rows)).scalars())

    async def facts_of(self, invoice_ids: list[str], columns: tuple[str, ...]) -> dict[str, dict[str, object]]:
        """The named columns of the ledger's invoices with these ids (plain rows, no ORM objects)."""
        if not invoice_ids:
            return {}
        table = LedgerInvoice.__table__
        query = select(table.c.invoice_id, *(table.c[name] for name in columns)).where(
            table.c.invoice_id.in_(invoice_ids)
        )
        return {row.invoice_id: {name: row._mapping[name] for name in columns} for row in await self._rows(query)}

    async def _rows(self, query: Any) -> list[Any]:
        return list((await self.session.execute(query)).all())

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
