"""Cursor pagination: opaque cursors over a stable sort key, and the page shape every list returns."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from clientpulse.shared.errors import Unprocessable

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one (null: the end)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for the position after the last item of a page."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor stands for; a cursor that was not made here is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from exc
    if not isinstance(value, dict):
        raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page")
    return value


def clamp_limit(limit: int | None) -> int:
    """A page size between 1 and ``MAX_LIMIT``; out-of-range sizes are a 422."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise Unprocessable(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def cursor_id(cursor: str | None) -> str | None:
    """The id a keyset cursor (``{"id": …}``) points after, or None for the first page."""
    position = decode_cursor(cursor)
    return str(position["id"]) if position and position.get("id") else None


def next_cursor_after(rows: Sequence[Any], size: int) -> str | None:
    """The cursor past a page, when the query fetched one row more than ``size`` (keyset on ``id``)."""
    return encode_cursor({"id": rows[size - 1].id}) if len(rows) > size else None
