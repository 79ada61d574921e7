"""A client's link to its company in Productive (docs/domain-rules.md, "Tier scoring"): the Productive
fallback asks for that company's invoices, never for clientpulse's own client id, and the monthly
recalculation refreshes the revenue of linked clients whose ledger is empty before it scores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.access import require_executive_or_head
from clientpulse.shared.errors import ProblemError
from clientpulse.shared.identity import Identity
from clientpulse.tiering.db.models import ProductiveLink
from clientpulse.tiering.db.repositories.productive_links import ProductiveLinkRepository
from clientpulse.tiering.domain.revenue import RevenueDesk

_log = logging.getLogger("clientpulse.tiering.productive")


async def link_client(
    session: AsyncSession, identity: Identity, client_id: str, company_id: str, *, now: datetime
) -> ProductiveLink:
    """Link a client the caller may see to a Productive company (replacing any earlier link and the revenue
    fetched for it); Executives and Heads only (docs/access.md)."""
    require_executive_or_head(identity)
    links = ProductiveLinkRepository(session)
    link = await links.get(client_id)
    if link is None:
        link = ProductiveLink(client_id=client_id)
        links.add(link)
    if link.company_id != company_id:
        link.revenue_base_minor = link.revenue_invoices = None
        link.revenue_window_end = link.revenue_fetched_at = None
    link.company_id, link.linked_by, link.linked_at = company_id, identity.sub, now
    await session.flush()
    return link


async def unlink_client(session: AsyncSession, identity: Identity, client_id: str) -> None:
    """Drop a client's link (none is fine); Executives and Heads only."""
    require_executive_or_head(identity)
    await ProductiveLinkRepository(session).remove(client_id)


@dataclass(frozen=True, slots=True)
class ProductiveRefresh:
    """What a recalculation's refresh asked and learnt."""

    asked: int
    refreshed: int
    failed: int


async def refresh_productive_revenue(
    session: AsyncSession, desk: RevenueDesk, *, window: tuple[date, date], now: datetime
) -> ProductiveRefresh:
    """Ask Productive, one linked client at a time (its throttling waited out by the client), for the
    revenue of every linked Active scored client whose ledger has no invoice in the window. A client
    Productive cannot answer for keeps the revenue it was last scored with."""
    if desk.productive is None:
        return ProductiveRefresh(0, 0, 0)
    links = ProductiveLinkRepository(session)
    due = await links.to_refresh(*window)
    refreshed = failed = 0
    for link in due:
        try:
            revenue = await desk.productive_revenue(link.company_id, window[0], window[1])
        except ProblemError as exc:
            failed += 1
            _log.warning("Productive revenue of client %s was not refreshed: %s", link.client_id, exc.detail)
            continue
        await links.record_revenue(
            link.client_id,
            base_minor=revenue.base_minor,
            invoices=revenue.invoices,
            window_end=window[1],
            fetched_at=now,
        )
        refreshed += 1
    return ProductiveRefresh(len(due), refreshed, failed)
