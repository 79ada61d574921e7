"""The Productive API (JSON:API), asked for a client's invoices when the revenue ledger has none.

``GET {base}/invoices?filter[company_id]=…&page[number]=…&page[size]=…`` with ``X-Auth-Token`` and
``X-Organization-Id``; pages are followed until ``meta.total_pages``. A 429 is waited out (its
``Retry-After`` when given, else a back-off of at least 10 s as Productive's limits ask) and retried.
Amounts are strings of integer minor units; credit notes (``invoice_type_id`` 2) are negative.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

_log = logging.getLogger("clientpulse.tiering.productive")

CREDIT_NOTE_TYPE = 2
DEFAULT_THROTTLE_SECONDS = 10.0


class ProductiveUnavailable(Exception):
    """Productive could not be asked (not configured, refused, kept throttling, or answered nonsense)."""


@dataclass(frozen=True, slots=True)
class ProductiveInvoice:
    """An invoice as Productive holds it."""

    invoice_id: str
    number: str | None
    invoiced_on: date
    amount_minor: int
    currency: str
    is_credit_note: bool


class ProductiveClient:
    """A small client of Productive's invoices endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        organization_id: str,
        page_size: int = 200,
        max_retries: int = 5,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {
            "X-Auth-Token": token,
            "X-Organization-Id": organization_id,
            "Content-Type": "application/vnd.api+json",
            "Accept": "application/vnd.api+json",
        }
        self._page_size = page_size
        self._max_retries = max_retries
        self._timeout = timeout
        self._sleep = sleep
        self._transport = transport

    async def invoices(self, company_id: str, *, since: date, until: date) -> list[ProductiveInvoice]:
        """Every invoice of a company issued between ``since`` and ``until`` (inclusive)."""
        found: list[ProductiveInvoice] = []
        async with httpx.AsyncClient(
            base_url=self._base_url, headers=self._headers, timeout=self._timeout, transport=self._transport
        ) as http:
            page, total_pages = 1, 1
            while page <= total_pages:
                body = await self._get_page(http, company_id, page)
                for item in body.get("data", []):
                    invoice = _invoice(item)
                    if since <= invoice.invoiced_on <= until:
                        found.append(invoice)
                total_pages = int((body.get("meta") or {}).get("total_pages") or page)
                page += 1
        return found

    async def _get_page(self, http: httpx.AsyncClient, company_id: str, page: int) -> dict[str, Any]:
        params = {
            "filter[company_id]": company_id,
            "sort": "-invoiced_on",
            "page[number]": str(page),
            "page[size]": str(self._page_size),
        }
        for attempt in range(self._max_retries + 1):
            try:
                response = await http.get("/invoices", params=params)
            except httpx.HTTPError as exc:
                raise ProductiveUnavailable(f"Productive at {self._base_url} did not answer: {exc}") from exc
            if response.status_code == 429:
                if attempt == self._max_retries:
                    break
                delay = _retry_after(response)
                _log.info("Productive throttled page %d, waiting %.1fs", page, delay)
                await self._sleep(delay)
                continue
            if response.status_code != 200:
                raise ProductiveUnavailable(
                    f"Productive answered {response.status_code} for company {company_id}'s invoices"
                )
            try:
                body: dict[str, Any] = response.json()
            except ValueError as exc:
                raise ProductiveUnavailable("Productive answered with something that is not JSON") from exc
            return body
        raise ProductiveUnavailable(f"Productive kept throttling after {self._max_retries} retries")


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_THROTTLE_SECONDS
    except ValueError:
        return DEFAULT_THROTTLE_SECONDS


def _invoice(item: dict[str, Any]) -> ProductiveInvoice:
    try:
        attributes = item["attributes"]
        amount = int(str(attributes["amount"]))
        credit = attributes.get("invoice_type_id") == CREDIT_NOTE_TYPE
        if credit and amount > 0:
            amount = -amount
        return ProductiveInvoice(
            invoice_id=str(item["id"]),
            number=attributes.get("number"),
            invoiced_on=date.fromisoformat(attributes["invoiced_on"]),
            amount_minor=amount,
            currency=str(attributes["currency"]),
            is_credit_note=credit or amount < 0,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProductiveUnavailable(f"Productive sent an invoice this service cannot read: {exc}") from exc
