"""Reading CSV and JSON company uploads."""

from __future__ import annotations

import pytest

from clientpulse.clients.domain.importing import parse_rows
from clientpulse.shared.errors import Unprocessable


def test_csv_rows_with_empty_cells_as_missing() -> None:
    body = "\ufeffname,domain,industry\nAcme,acme.com,\nBeta,,Retail\n".encode()
    assert parse_rows(body, "text/csv; charset=utf-8") == [
        {"name": "Acme", "domain": "acme.com", "industry": None},
        {"name": "Beta", "domain": None, "industry": "Retail"},
    ]


def test_a_csv_row_longer_than_its_header_is_marked_for_rejection() -> None:
    rows = parse_rows(b"name,domain\nAcme,acme.com,extra\n", "text/csv")
    assert rows == [{"__error__": "the row has more fields than the header"}]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"domain\nacme.com\n", "text/csv", "name column"),
        (b"name,colour\nAcme,red\n", "text/csv", "unknown CSV columns colour"),
        (b'{"name": "Acme"}', "application/json", "array"),
        (b"[", "application/json", "not valid"),
        (b"[]", "application/json", "no rows"),
        (b"name\nAcme\n", "application/xml", "text/csv or application/json"),
    ],
)
def test_unreadable_uploads_are_refused_whole(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(Unprocessable, match=message):
        parse_rows(body, content_type)
