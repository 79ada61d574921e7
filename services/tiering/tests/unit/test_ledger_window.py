"""The trailing-12-month window of the revenue ledger."""

from datetime import date

import pytest

from clientpulse.tiering.domain.ledger import trailing_year_start


@pytest.mark.parametrize(
    ("today", "start"),
    [
        (date(2026, 11, 24), date(2025, 11, 25)),
        (date(2026, 1, 1), date(2025, 1, 2)),
        (date(2028, 2, 29), date(2027, 3, 1)),  # leap day: the window still spans a year
    ],
)
def test_window_spans_exactly_a_year(today: date, start: date) -> None:
    assert trailing_year_start(today) == start
