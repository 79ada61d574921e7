"""Ratios of a week's sums, rounded as the analysis shows them (ROAS = revenue ÷ spend, CPA = spend ÷ conversions)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ROAS_PLACES = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")
POINT_PLACES = Decimal("0.1")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """``numerator ÷ denominator``, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


def roas_of(revenue_minor: int, spend_minor: int) -> Decimal | None:
    """Return on ad spend (revenue ÷ spend, both in the same currency), to two decimals; None without spend."""
    value = ratio(revenue_minor, spend_minor)
    return None if value is None else value.quantize(ROAS_PLACES, ROUND_HALF_UP)


def cpa_minor_of(spend_minor: int, conversions: Decimal) -> int | None:
    """Cost per conversion in minor units (rounded half up); None without conversions."""
    value = ratio(spend_minor, conversions)
    return None if value is None else int(value.quantize(Decimal(1), ROUND_HALF_UP))


def share_of(part: int, whole: int) -> Decimal:
    """``part ÷ whole`` to four decimals; 0 when the whole is 0."""
    value = ratio(part, whole)
    return Decimal(0) if value is None else value.quantize(SHARE_PLACES, ROUND_HALF_UP)


def change_of(current: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    """The relative change against the week before, to four decimals; None when either is unknown or it was 0."""
    if current is None or previous is None or previous == 0:
        return None
    return ((Decimal(current) - Decimal(previous)) / Decimal(previous)).quantize(SHARE_PLACES, ROUND_HALF_UP)


def rounded_points(value: Decimal) -> Decimal:
    """Score points to one decimal, half up."""
    return value.quantize(POINT_PLACES, ROUND_HALF_UP)
