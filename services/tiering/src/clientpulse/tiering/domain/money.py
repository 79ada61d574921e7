"""Money in the base currency: dated conversion rates and ISO 4217 minor units.

Amounts stay integer minor units. A rate says how many base-currency units one unit of the other
currency is worth from ``valid_from`` until the next rate of that currency; an invoice is converted
with the rate in force on the day it was issued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 currencies whose minor unit is not 1/100 (the rest have two decimals).
_MINOR_UNIT_EXPONENTS: dict[str, int] = {
    "BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "OMR": 3, "TND": 3, "UGX": 0,
    "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip

FAR_FUTURE = date(9999, 12, 31)
FAR_PAST = date(1900, 1, 1)


def minor_unit_exponent(currency: str) -> int:
    """Decimals of a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


def major_units(amount_minor: int, currency: str) -> Decimal:
    """An amount in minor units as major units (``12345`` EUR cents → ``123.45``)."""
    return Decimal(amount_minor).scaleb(-minor_unit_exponent(currency))


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One base-currency units per one unit of ``currency``, from ``valid_from`` on."""

    currency: str
    valid_from: date
    rate: Decimal


@dataclass(frozen=True, slots=True)
class RateWindow:
    """A rate with its end: multiply minor units of ``currency`` by ``factor`` for base minor units."""

    currency: str
    valid_from: date
    valid_to: date  # exclusive
    factor: Decimal


class MissingRate(Exception):
    """No configured rate covers a currency on a date."""


class RateTable:
    """The configured rates, ready to convert minor units into base-currency minor units."""

    def __init__(self, base_currency: str, rates: Iterable[ExchangeRate]) -> None:
        self.base_currency = base_currency
        base_exponent = minor_unit_exponent(base_currency)
        by_currency: dict[str, list[ExchangeRate]] = {}
        for rate in rates:
            if rate.currency != base_currency:
                by_currency.setdefault(rate.currency, []).append(rate)
        windows = [RateWindow(base_currency, FAR_PAST, FAR_FUTURE, Decimal(1))]
        for currency, dated in sorted(by_currency.items()):
            dated.sort(key=lambda r: r.valid_from)
            shift = base_exponent - minor_unit_exponent(currency)
            for current, following in zip(dated, [*dated[1:], None], strict=True):
                end = following.valid_from if following else FAR_FUTURE
                windows.append(RateWindow(currency, current.valid_from, end, current.rate.scaleb(shift)))
        self.windows: tuple[RateWindow, ...] = tuple(windows)

    def factor(self, currency: str, on: date) -> Decimal:
        """The multiplier from ``currency`` minor units to base minor units on a day."""
        for window in self.windows:
            if window.currency == currency and window.valid_from <= on < window.valid_to:
                return window.factor
        raise MissingRate(f"no {currency}→{self.base_currency} rate configured for {on.isoformat()}")

    def to_base_minor(self, amount_minor: int, currency: str, on: date) -> Decimal:
        """An amount in base-currency minor units (kept exact; round only for display)."""
        return Decimal(amount_minor) * self.factor(currency, on)


def round_minor(amount: Decimal) -> int:
    """Whole base minor units, banker's rounding (the figure shown in receipts)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
