"""Clients' links to their Productive company (``productive_links``) and the revenue last fetched there."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.tiering.db.models import ClientScore, LedgerInvoice, ProductiveLink


class ProductiveLinkRepository:
    """Which Productive company a client is, and what Productive last said it earned."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> ProductiveLink | None:
        """A client's link, if it has one."""
        return await self.session.get(ProductiveLink, client_id)

    def add(self, link: ProductiveLink) -> None:
        """Stage a new link."""
        self.session.add(link)

    async def remove(self, client_id: str) -> bool:
        """Drop a client's link; True when there was one."""
        result = await self.session.execute(delete(ProductiveLink).where(ProductiveLink.client_id == client_id))
        return bool(getattr(result, "rowcount", 0))

    async def to_refresh(self, since: date, until: date) -> list[ProductiveLink]:
        """Links of Active scored clients whose ledger has no invoice in the window: the ones a recalculation
        asks Productive about."""
        directory = client_directory.c
        has_invoice = exists().where(
            LedgerInvoice.client_id == ProductiveLink.client_id,
            LedgerInvoice.issued_on >= since,
            LedgerInvoice.issued_on <= until,
        )
        query = (
            select(ProductiveLink)
            .join(ClientScore, ClientScore.client_id == ProductiveLink.client_id)
            .join(client_directory, directory.client_id == ProductiveLink.client_id)
            .where(directory.status == ClientStatus.ACTIVE.value, ~has_invoice)
            .order_by(ProductiveLink.client_id)
        )
        return list((await self.session.execute(query)).scalars())

    async def record_revenue(
        self, client_id: str, *, base_minor: int, invoices: int, window_end: date, fetched_at: datetime
    ) -> None:
        """Keep what Productive said a client earned over the 12 months ending ``window_end``."""
        await self.session.execute(
            update(ProductiveLink)
            .where(ProductiveLink.client_id == client_id)
            .values(
                revenue_base_minor=base_minor,
                revenue_invoices=invoices,
                revenue_window_end=window_end,
                revenue_fetched_at=fetched_at,
            )
        )
