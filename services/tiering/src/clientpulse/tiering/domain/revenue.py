"""Trailing-12-month revenue of a client in the base currency: the ledger, or Productive as fallback."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.money import MissingRate, RateTable, major_units, round_minor
from clientpulse.tiering.db.repositories.ledger import LedgerRepository
from clientpulse.tiering.db.repositories.productive_links import ProductiveLinkRepository
from clientpulse.tiering.domain.ledger import trailing_year_start
from clientpulse.tiering.productive import ProductiveClient, ProductiveUnavailable


class RevenueSource(enum.StrEnum):
    """Where a revenue figure came from."""

    LEDGER = "ledger"
    PRODUCTIVE = "productive"
    NONE = "none"  # no invoices anywhere: revenue 0


@dataclass(frozen=True, slots=True)
class Revenue:
    """Revenue over a window, in base-currency minor units."""

    base_minor: int
    base_currency: str
    source: RevenueSource
    window_start: date
    window_end: date
    invoices: int

    @property
    def major(self) -> Decimal:
        """Base-currency major units, what the band table speaks."""
        return major_units(self.base_minor, self.base_currency)


@dataclass(frozen=True, slots=True)
class RevenueDesk:
    """What revenue is computed with: the rate table and, if configured, the Productive client."""

    rates: RateTable
    productive: ProductiveClient | None = None

    async def trailing_revenue(self, session: AsyncSession, client_id: str, today: date) -> Revenue:
        """Ledger revenue of the 12 months up to ``today``; when the ledger has none, Productive's revenue of
        the client's linked company (an unlinked client has no Productive fallback)."""
        start = trailing_year_start(today)
        rows = await LedgerRepository(session).daily_totals(client_id, start, today)
        if rows:
            total = self._convert([(currency, day, amount) for currency, day, amount, _ in rows])
            count = sum(n for *_, n in rows)
            return Revenue(round_minor(total), self.rates.base_currency, RevenueSource.LEDGER, start, today, count)
        link = await ProductiveLinkRepository(session).get(client_id) if self.productive is not None else None
        if link is not None:
            revenue = await self.productive_revenue(link.company_id, start, today)
            if revenue.invoices:
                return revenue
        return Revenue(0, self.rates.base_currency, RevenueSource.NONE, start, today, 0)

    async def productive_revenue(self, company_id: str, start: date, end: date) -> Revenue:
        """A Productive company's invoiced revenue in the window, in the base currency; 422 when Productive
        cannot be asked or a rate is missing."""
        if self.productive is None:
            raise Unprocessable("Productive is not configured (CLIENTPULSE_TIERING_PRODUCTIVE_BASE_URL and token)")
        try:
            invoices = await self.productive.invoices(company_id, since=start, until=end)
        except ProductiveUnavailable as exc:
            raise Unprocessable(
                f"the ledger has no invoices and Productive could not be asked about company {company_id}: {exc}"
            ) from exc
        total = self._convert([(i.currency, i.invoiced_on, i.amount_minor) for i in invoices])
        source = RevenueSource.PRODUCTIVE if invoices else RevenueSource.NONE
        return Revenue(round_minor(total), self.rates.base_currency, source, start, end, len(invoices))

    def _convert(self, amounts: list[tuple[str, date, int]]) -> Decimal:
        try:
            return sum(
                (self.rates.to_base_minor(amount, currency, day) for currency, day, amount in amounts), Decimal(0)
            )
        except MissingRate as exc:
            raise Unprocessable(f"{exc}; add it to CLIENTPULSE_TIERING_EXCHANGE_RATES") from exc
