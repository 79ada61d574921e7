"""Money as integer minor units of the account's own currency (ISO 4217)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2; every other currency code has 2 decimals.
_EXPONENTS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}


class MoneyError(ValueError):
    """An amount or currency a platform sent that cannot be stored as money."""


def currency_exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit (USD 2, JPY 0, KWD 3)."""
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code")
    return _EXPONENTS.get(code, 2)


def to_minor_units(amount: str | int | Decimal, currency: str) -> int:
    """An amount in major units ("412.37" USD) as integer minor units (41237), rounded half-even."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{amount!r} is not an amount of money") from exc
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not an amount of money")
    scaled = value.scaleb(currency_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def micros_to_minor_units(micros: str | int, currency: str) -> int:
    """Google Ads ``cost_micros`` (millionths of the major unit) as integer minor units, half-even."""
    try:
        value = Decimal(str(micros).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{micros!r} is not an amount in micros") from exc
    scaled = value.scaleb(currency_exponent(currency) - 6)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    """Integer minor units back to an exact major-unit ``Decimal`` (41237 USD → 412.37)."""
    return Decimal(minor).scaleb(-currency_exponent(currency))
