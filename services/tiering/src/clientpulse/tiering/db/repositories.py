"""Repositories of the tiering service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts
from clientpulse.tiering.db.models import ClientScore, LedgerInvoice, RecalculationRun, ScoreReceipt


class LedgerRepository:
    """The revenue ledger built from InvoicePosted."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_new(self, values: dict[str, object]) -> bool:
        """Insert an invoice unless its id is already in the ledger; True when inserted."""
        statement = insert_ignoring_conflicts(self.session, LedgerInvoice.__table__).values(**values)
        result = await self.session.execute(statement)
        return affected_rows(result) == 1

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


class ScoreRepository:
    """Clients' current scores and their receipts (the score history)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, client_id: str, *, for_update: bool = False) -> ClientScore | None:
        """A client's current score row, locked for the caller's transaction when asked."""
        query = select(ClientScore).where(ClientScore.client_id == client_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def of_clients(self, client_ids: list[str]) -> list[ClientScore]:
        """The current score rows of several clients (those scored)."""
        if not client_ids:
            return []
        query = select(ClientScore).where(ClientScore.client_id.in_(client_ids))
        return list((await self.session.execute(query)).scalars())

    def add(self, row: ClientScore | ScoreReceipt) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def history(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[ScoreReceipt]:
        """A client's receipts, newest first, after a cursor position."""
        query = select(ScoreReceipt).where(ScoreReceipt.client_id == client_id)
        if before is not None:
            at, receipt_id = before
            query = query.where(
                (ScoreReceipt.recorded_at < at) | ((ScoreReceipt.recorded_at == at) & (ScoreReceipt.id < receipt_id))
            )
        query = query.order_by(ScoreReceipt.recorded_at.desc(), ScoreReceipt.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def recent_scores(self, client_id: str, count: int) -> list[Decimal]:
        """The latest ``count`` scores, oldest first (for the trend)."""
        query = (
            select(ScoreReceipt.score)
            .where(ScoreReceipt.client_id == client_id)
            .order_by(ScoreReceipt.recorded_at.desc(), ScoreReceipt.id.desc())
            .limit(count)
        )
        return list(reversed(list((await self.session.execute(query)).scalars())))


class RecalculationRepository:
    """Runs of the monthly recalculation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_period(self, values: dict[str, object]) -> bool:
        """Insert the run of a period unless one exists (across replicas too); True when this one is new."""
        statement = insert_ignoring_conflicts(self.session, RecalculationRun.__table__).values(**values)
        return affected_rows(await self.session.execute(statement)) == 1

    async def finish(self, run_id: str, counts: dict[str, object]) -> None:
        """Store the counts of a finished run."""
        await self.session.execute(update(RecalculationRun).where(RecalculationRun.id == run_id).values(**counts))

    async def by_period(self, period: str) -> RecalculationRun | None:
        """The run of a period, if any."""
        query = select(RecalculationRun).where(RecalculationRun.period == period)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def newest(self, *, limit: int, before_period: str | None = None) -> list[RecalculationRun]:
        """Runs, newest period first."""
        query = select(RecalculationRun)
        if before_period is not None:
            query = query.where(RecalculationRun.period < before_period)
        query = query.order_by(RecalculationRun.period.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())


class GroupRepository:
    """Group accounts from the client replica, and their members' ledger revenue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members(self, group_id: str) -> list[tuple[str, str | None]]:
        """(client id, name) of the clients whose parent is ``group_id``."""
        query = (
            select(client_directory.c.client_id, client_directory.c.name)
            .where(client_directory.c.parent_id == group_id)
            .order_by(client_directory.c.client_id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def daily_totals(self, client_ids: list[str], since: date, until: date) -> list[tuple[str, str, date, int]]:
        """(client id, currency, day, amount in minor units) per client, currency and issue day in the window."""
        query = (
            select(
                LedgerInvoice.client_id,
                LedgerInvoice.currency,
                LedgerInvoice.issued_on,
                func.sum(LedgerInvoice.amount_minor),
            )
            .where(
                LedgerInvoice.client_id.in_(client_ids),
                LedgerInvoice.issued_on >= since,
                LedgerInvoice.issued_on <= until,
            )
            .group_by(LedgerInvoice.client_id, LedgerInvoice.currency, LedgerInvoice.issued_on)
        )
        return [(r[0], r[1], r[2], int(r[3] or 0)) for r in (await self.session.execute(query)).all()]
