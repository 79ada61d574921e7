"""The keyset page a list handler answers: rows in id order, a page size from ``limit`` and the id the
page starts after from ``cursor``; one row more than the page is fetched to tell whether another follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar.params import QueryParameter

from clientpulse.shared.pagination import Page, clamp_limit, cursor_id, next_cursor_after

# The ``cursor`` query parameter of every list: the ``next_cursor`` of the previous page.
Cursor = Annotated[str | None, QueryParameter(max_length=500)]

Row = TypeVar("Row")
Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a list handler was asked for: a page ``size`` (checked on arrival) and an opaque ``cursor``."""

    size: int
    cursor: str | None

    @classmethod
    def of(cls, cursor: str | None, limit: int | None) -> PageRequest:
        """The request of ``?cursor=…&limit=…``; an out-of-range limit is a 422."""
        return cls(size=clamp_limit(limit), cursor=cursor)

    @property
    def after_id(self) -> str | None:
        """The id the page starts after (None: the first page); a cursor not made here is a 422."""
        return cursor_id(self.cursor)

    @property
    def fetch_limit(self) -> int:
        """How many rows to fetch: one more than the page, to tell whether another page follows."""
        return self.size + 1

    def shown(self, rows: Sequence[Row]) -> Sequence[Row]:
        """The fetched rows that make the page (without the look-ahead row)."""
        return rows[: self.size]

    def page(self, model: type[Item], rows: Sequence[Row], read: Callable[[Row], Item]) -> Page[Item]:
        """The page of ``model`` items read from the fetched rows, with the cursor of the next page."""
        # Page[HealthRead] etc., the class the handler declares; mypy refuses a variable as a type argument.
        page_type: Any = Page[model]  # type: ignore[valid-type]
        items = [read(row) for row in self.shown(rows)]
        result: Page[Item] = page_type(items=items, next_cursor=next_cursor_after(rows, self.size))
        return result
