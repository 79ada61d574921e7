"""Ratios over a window, always from the window's sums (docs/domain-rules.md, "Results")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

FATIGUE_FREQUENCY = Decimal("3.0")


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """``numerator ÷ denominator``; ``None`` when there is nothing to divide by."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def roas(conversion_value_minor: int, spend_minor: int) -> Decimal | None:
    """Return on ad spend = revenue ÷ spend (same currency, so minor units cancel)."""
    return ratio(conversion_value_minor, spend_minor)


def cpa_minor(spend_minor: int, conversions: Decimal) -> Decimal | None:
    """Cost per acquisition in minor units = spend ÷ conversions."""
    return ratio(spend_minor, conversions)


def ctr(clicks: int, impressions: int) -> Decimal | None:
    """Click-through rate as a fraction = clicks ÷ impressions."""
    return ratio(clicks, impressions)


def frequency(impressions: int, period_reach: int | None) -> Decimal | None:
    """Impressions ÷ the platform's own reach for the same window.

    Reach counts people, so it does not add up over days: the sum of daily reach overstates the
    people reached and understates frequency. Without the window's reach there is no frequency.
    """
    if period_reach is None:
        return None
    return ratio(impressions, period_reach)


def is_fatigued(seven_day_frequency: Decimal | None) -> bool:
    """Frequency fatigue: the 7-day frequency is above 3.0 (exactly 3.0 is not fatigue)."""
    return seven_day_frequency is not None and seven_day_frequency > FATIGUE_FREQUENCY


@dataclass(frozen=True, slots=True)
class Delta:
    """How a value moved against the previous period."""

    absolute: Decimal | None
    relative: Decimal | None


def period_delta(current: Decimal | int | None, previous: Decimal | int | None) -> Delta:
    """Change from ``previous`` to ``current``: relative is ``None`` when previous is 0 (absolute stays)."""
    if current is None or previous is None:
        return Delta(None, None)
    absolute = Decimal(current) - Decimal(previous)
    relative = None if previous == 0 else absolute / Decimal(previous)
    return Delta(absolute, relative)
