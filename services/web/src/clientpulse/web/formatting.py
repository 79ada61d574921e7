"""Jinja filters: money in minor units, dates, ratios, deltas and badge classes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment

# Minor units per currency where they are not 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "HUF": 2, "KWD": 3, "BHD": 3}


def money(minor: Any, currency: str | None) -> str:
    """``125000, "EUR"`` → ``EUR 1,250.00``."""
    if minor is None:
        return "—"
    exponent = _EXPONENTS.get(currency or "", 2)
    try:
        amount = Decimal(str(minor)) / (Decimal(10) ** exponent)
    except InvalidOperation:
        return str(minor)
    return f"{currency or ''} {amount:,.{exponent}f}".strip()


def number(value: Any, places: int = 2) -> str:
    """A decimal string shown with thousands separators, or ``—``."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if amount == amount.to_integral_value() and places:
        return f"{amount:,.0f}"
    return f"{amount:,.{places}f}"


def metric_value(value: Any, unit: str, currency: str | None, metric: str = "") -> str:
    """A metric card's figure in its unit: money from minor units, rates as percentages."""
    if value is None:
        return "—"
    if unit.startswith("money"):
        return money(Decimal(str(value)).quantize(Decimal(1)), currency) if unit == "money_minor" else number(value)
    if unit == "ratio" and (metric == "ctr" or metric.endswith("_rate")):
        return f"{number(Decimal(str(value)) * 100, 2)} %"
    if unit == "duration" or metric.endswith("_seconds"):
        return f"{number(Decimal(str(value)) / 3600, 1)} h"
    return number(value, 2)


def metric_label(metric: str, currency: str | None) -> str:
    """``spend_minor``, ``EUR`` → ``Spend (EUR)``."""
    label = metric.removesuffix("_minor").replace("_", " ").capitalize()
    label = label.replace("Roas", "ROAS").replace("Cpa", "CPA").replace("Ctr", "CTR").replace("Aov", "AOV")
    return f"{label} ({currency})" if currency else label


def delta_class(relative: Any) -> str:
    """``up``, ``down`` or ``flat`` for a relative change."""
    try:
        change = Decimal(str(relative))
    except (InvalidOperation, TypeError):
        return "flat"
    return "up" if change > 0 else "down" if change < 0 else "flat"


def percent(value: Any) -> str:
    """``0.125`` → ``+12.5 %``."""
    try:
        change = Decimal(str(value)) * 100
    except (InvalidOperation, TypeError):
        return "—"
    return f"{change:+.1f} %"


def when(value: Any) -> str:
    """An ISO timestamp or date, shown without seconds."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value).isoformat()
    return moment.strftime("%Y-%m-%d %H:%M")


def slug(value: Any) -> str:
    """A CSS class fragment from a label: ``On Track`` → ``on-track``."""
    return str(value or "none").lower().replace(" ", "-").replace("_", "-")


def merge_query(base: dict[str, Any], **changes: Any) -> str:
    """A query string: ``base`` with ``changes`` applied (empty values left out)."""
    return urlencode({key: value for key, value in {**base, **changes}.items() if value not in (None, "")})


def register(environment: Environment) -> None:
    """Add the filters to the template engine."""
    from clientpulse.web.gateway import ApiProblem

    environment.tests["problem"] = lambda value: isinstance(value, ApiProblem)
    environment.filters.update(
        money=money,
        number=number,
        metric_value=metric_value,
        delta_class=delta_class,
        percent=percent,
        when=when,
        slug=slug,
        merge_query=merge_query,
        metric_label=metric_label,
    )
