"""Money as the analysis shows it: integer minor units written in major units with their currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not 1/100 (the rest have two decimals).
_MINOR_UNIT_EXPONENTS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KMF": 0,
    "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "VND": 0, "VUV": 0,
    "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_unit_exponent(currency: str) -> int:
    """Decimals of a currency's minor unit (2 for EUR, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


def major_units(amount_minor: int, currency: str) -> Decimal:
    """Minor units as major units (``123456`` EUR cents → ``1234.56``)."""
    return Decimal(amount_minor).scaleb(-minor_unit_exponent(currency))


def format_money(amount_minor: int, currency: str) -> str:
    """``EUR 1,234.56``: an amount with its currency, grouped, in the currency's own decimals."""
    exponent = minor_unit_exponent(currency)
    return f"{currency} {major_units(amount_minor, currency):,.{exponent}f}"


def format_percent(share: Decimal, *, signed: bool = False) -> str:
    """A ratio as a percentage with one decimal (``0.2345`` → ``23.5%``; signed: ``+23.5%``)."""
    value = (share * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value:+}%" if signed else f"{value}%"
