"""Money everywhere in clientpulse: integer minor units of an ISO 4217 currency, and dated rates
into a base currency.

A currency's minor unit comes from the ISO 4217 maintenance agency's list as the ``iso4217``
package ships it (JPY 0 decimals, KWD 3, CLF 4), never from a table typed here. Codes outside the
list, and its funds and metals without a minor unit (XAU, XDR), are not money.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from iso4217 import Currency

FAR_FUTURE = date(9999, 12, 31)
FAR_PAST = date(1900, 1, 1)


class MoneyError(ValueError):
    """An amount or a currency that cannot be money (the message says which and why)."""


@cache
def minor_unit_exponent(currency: str) -> int:
    """Decimals of a currency's minor unit (EUR 2, JPY 0, KWD 3), case-insensitive."""
    code = currency.strip().upper()
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise MoneyError(f"{code} has no minor unit in ISO 4217 (a fund or a metal, not money)")
    return int(exponent)


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency with a minor unit."""
    try:
        minor_unit_exponent(code)
    except MoneyError:
        return False
    return True


def major_units(amount_minor: int, currency: str) -> Decimal:
    """Minor units as an exact amount in major units (``12345`` EUR → ``123.45``)."""
    return Decimal(amount_minor).scaleb(-minor_unit_exponent(currency))


def _decimal(amount: str | int | Decimal, what: str) -> Decimal:
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{amount!r} is not {what}") from exc
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not {what}")
    return value


def to_minor_units(amount: str | int | Decimal, currency: str) -> int:
    """An amount in major units (``"412.37"`` USD) as integer minor units (``41237``), half-even."""
    scaled = _decimal(amount, "an amount of money").scaleb(minor_unit_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def micros_to_minor_units(micros: str | int, currency: str) -> int:
    """Millionths of the major unit (Google Ads ``cost_micros``) as integer minor units, half-even."""
    scaled = _decimal(micros, "an amount in micros").scaleb(minor_unit_exponent(currency) - 6)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def round_minor(amount: Decimal) -> int:
    """Whole minor units, banker's rounding (the figure shown in receipts)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


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
    """Dated rates into a base currency: an amount is converted with the rate in force on its day."""

    def __init__(self, base_currency: str, rates: Iterable[ExchangeRate]) -> None:
        self.base_currency = base_currency.upper()
        base_exponent = minor_unit_exponent(self.base_currency)
        by_currency: dict[str, list[ExchangeRate]] = {}
        for rate in rates:
            code = rate.currency.upper()
            if code != self.base_currency:
                by_currency.setdefault(code, []).append(rate)
        windows = [RateWindow(self.base_currency, FAR_PAST, FAR_FUTURE, Decimal(1))]
        for currency, dated in sorted(by_currency.items()):
            dated.sort(key=lambda r: r.valid_from)
            shift = base_exponent - minor_unit_exponent(currency)
            for current, following in zip(dated, [*dated[1:], None], strict=True):
                end = following.valid_from if following else FAR_FUTURE
                windows.append(RateWindow(currency, current.valid_from, end, current.rate.scaleb(shift)))
        self.windows: tuple[RateWindow, ...] = tuple(windows)

    def factor(self, currency: str, on: date) -> Decimal:
        """The multiplier from ``currency`` minor units to base minor units on a day."""
        code = currency.upper()
        for window in self.windows:
            if window.currency == code and window.valid_from <= on < window.valid_to:
                return window.factor
        raise MissingRate(f"no {code}→{self.base_currency} rate configured for {on.isoformat()}")

    def to_base_minor(self, amount_minor: int, currency: str, on: date) -> Decimal:
        """An amount in base-currency minor units (kept exact; round only for display)."""
        return Decimal(amount_minor) * self.factor(currency, on)
