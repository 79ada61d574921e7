"""The Productive fallback's HTTP client against a local server speaking Productive's invoices API."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from productive_testkit import ORGANIZATION, TOKEN, productive_stand_in, sample_invoice

from clientpulse.tiering.productive import ProductiveClient, ProductiveUnavailable


def client(url: str, *, token: str = TOKEN, page_size: int = 2, max_retries: int = 3) -> ProductiveClient:
    return ProductiveClient(url, token=token, organization_id=ORGANIZATION, page_size=page_size,
                            max_retries=max_retries)  # fmt: skip


async def test_pages_are_followed_throttling_is_waited_out_and_credit_notes_are_negative() -> None:
    async with productive_stand_in() as server:
        server.invoices = [
            sample_invoice("1", "456789", "2026-06-30", "480000"),
            sample_invoice("2", "456789", "2026-06-10", "-120000", credit=True),
            sample_invoice("3", "456789", "2026-03-01", "100000", currency="USD"),
            sample_invoice("4", "456789", "2024-01-01", "999999"),  # outside the window
            sample_invoice("5", "other", "2026-06-30", "777777"),  # another company's
        ]
        server.throttle_first = 2
        invoices = await client(server.url).invoices("456789", since=date(2025, 11, 25), until=date(2026, 11, 24))
    assert [(i.invoice_id, i.amount_minor, i.currency, i.is_credit_note) for i in invoices] == [
        ("1", 480000, "EUR", False),
        ("2", -120000, "EUR", True),
        ("3", 100000, "USD", False),
    ]
    pages = [r["query"]["page[number]"] for r in server.requests]
    assert pages == ["1", "1", "1", "2"]  # two 429s on page 1, then both pages of two (4 invoices)
    assert all(r["query"]["filter[company_id]"] == "456789" for r in server.requests)


async def test_endless_throttling_and_bad_credentials_are_reported_not_guessed() -> None:
    async with productive_stand_in() as server:
        server.throttle_first = 10
        with pytest.raises(ProductiveUnavailable, match="kept throttling"):
            await client(server.url, max_retries=2).invoices("456789", since=date(2026, 1, 1), until=date(2026, 12, 31))
        server.throttle_first = 0
        with pytest.raises(ProductiveUnavailable, match="401"):
            await client(server.url, token="wrong").invoices("456789", since=date(2026, 1, 1), until=date(2026, 12, 31))
