"""Group accounts: their members in the client directory, and the members' ledger revenue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.identity import Identity
from clientpulse.tiering.db.models import LedgerInvoice


class GroupRepository:
    """Group accounts from the client replica, and their members' ledger revenue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members(self, identity: Identity, group_id: str) -> list[tuple[str, str | None]]:
        """(client id, name) of the clients whose parent is ``group_id`` and whom the caller may see."""
        directory = client_directory.c
        query = (
            select(directory.client_id, directory.name, directory.dm_id, directory.squad_id)
            .where(directory.parent_id == group_id)
            .order_by(directory.client_id)
        )
        rows = (await self.session.execute(query)).all()
        return [(row[0], row[1]) for row in rows if identity.can_access_client(dm_id=row[2], squad_id=row[3])]

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
