"""Money as the analysis shows it: integer minor units written in major units with their currency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from clientpulse.shared.money import major_units, minor_unit_exponent


def format_money(amount_minor: int, currency: str) -> str:
    """``EUR 1,234.56``: an amount with its currency, grouped, in the currency's own decimals."""
    exponent = minor_unit_exponent(currency)
    return f"{currency} {major_units(amount_minor, currency):,.{exponent}f}"


def format_percent(share: Decimal, *, signed: bool = False) -> str:
    """A ratio as a percentage with one decimal (``0.2345`` → ``23.5%``; signed: ``+23.5%``)."""
    value = (share * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value:+}%" if signed else f"{value}%"
