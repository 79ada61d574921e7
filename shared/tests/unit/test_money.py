"""The one money module: minor units from the ISO 4217 list, dated rates into the base currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from iso4217 import Currency

from clientpulse.shared.money import (
    ExchangeRate,
    MissingRate,
    MoneyError,
    RateTable,
    is_currency,
    major_units,
    micros_to_minor_units,
    minor_unit_exponent,
    to_minor_units,
)

ACTIVE = [c for c in Currency if c.exponent is not None]


@pytest.mark.parametrize("currency", ACTIVE, ids=lambda c: c.code)
def test_every_active_currency_round_trips_through_its_own_minor_unit(currency: Currency) -> None:
    exponent = currency.exponent
    assert minor_unit_exponent(currency.code) == minor_unit_exponent(currency.code.lower()) == exponent
    one_minor = Decimal(1).scaleb(-exponent)
    assert to_minor_units(one_minor, currency.code) == 1
    assert major_units(123_456, currency.code) == Decimal(123_456).scaleb(-exponent)
    assert to_minor_units(major_units(123_456, currency.code), currency.code) == 123_456


@pytest.mark.parametrize(
    ("code", "exponent"),
    # The currencies hand-typed tables used to miss: each was 100× off where it defaulted to 2.
    [("PYG", 0), ("BIF", 0), ("DJF", 0), ("GNF", 0), ("KMF", 0), ("RWF", 0), ("VUV", 0), ("XPF", 0),
     ("IQD", 3), ("LYD", 3), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("EUR", 2), ("pyg", 0)],
)  # fmt: skip
def test_minor_units_come_from_iso_4217(code: str, exponent: int) -> None:
    assert minor_unit_exponent(code) == exponent


@pytest.mark.parametrize("code", ["XAU", "XDR", "ABC", "US", "EURO", ""])
def test_what_is_not_a_currency_with_a_minor_unit_is_refused(code: str) -> None:
    assert not is_currency(code)
    with pytest.raises(MoneyError):
        to_minor_units("1", code)


def test_micros_and_half_even_rounding() -> None:
    assert micros_to_minor_units("1500000000", "JPY") == 1500
    assert to_minor_units("0.125", "USD") == 12 and to_minor_units("0.135", "USD") == 14


def test_a_pyg_invoice_converts_at_its_own_decimals() -> None:
    rates = RateTable("EUR", [ExchangeRate("pyg", date(2026, 1, 1), Decimal("0.00012"))])
    # 1,000,000 PYG (no minor unit) at 0.00012 EUR each = 120.00 EUR = 12,000 cents.
    assert rates.to_base_minor(1_000_000, "PYG", date(2026, 6, 1)) == Decimal(12_000)
    with pytest.raises(MissingRate):
        rates.to_base_minor(1, "PYG", date(2025, 12, 31))
