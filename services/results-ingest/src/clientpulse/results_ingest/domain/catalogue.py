"""The metric catalogue: what each stored metric is, so the engine never guesses from a name.

Every metric a platform fills has a key (as stored), a category, a unit and an aggregation:
*sum* metrics add up over days; *level* metrics are the value at the period's end (active
subscriptions, members); *window-unique* metrics are the platform's own figure for a window (reach,
users) and are never added across days. Ratios (ROAS, CPA, CTR, frequency) are not stored: they
are derived from sums at read time (see the results-ingest README).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.StrEnum):
    """The dashboards' sections."""

    REVENUE = "revenue"
    ORDERS = "orders"
    ADVERTISING = "advertising"
    EMAIL = "email"
    TRAFFIC = "traffic"
    SUPPORT = "support"
    LOYALTY = "loyalty"
    SUBSCRIPTIONS = "subscriptions"


class Unit(enum.StrEnum):
    """How a stored value is to be read."""

    MONEY_MINOR = "money_minor"  # integer minor units of the row's currency (ISO 4217)
    COUNT = "count"
    COUNT_E4 = "count_e4"  # a fractional count stored as integer ten-thousandths
    RATIO = "ratio"
    DURATION_SECONDS = "duration_seconds"


class Aggregation(enum.StrEnum):
    """How values of several days combine."""

    SUM = "sum"
    LEVEL = "level"
    WINDOW_UNIQUE = "window_unique"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric of the catalogue."""

    key: str
    category: Category
    unit: Unit
    aggregation: Aggregation
    description: str

    @property
    def is_money(self) -> bool:
        """Money carries a currency; counts do not."""
        return self.unit is Unit.MONEY_MINOR


SPEND = MetricSpec("spend_minor", Category.ADVERTISING, Unit.MONEY_MINOR, Aggregation.SUM, "ad spend")
IMPRESSIONS = MetricSpec("impressions", Category.ADVERTISING, Unit.COUNT, Aggregation.SUM, "ad impressions")
CLICKS = MetricSpec("clicks", Category.ADVERTISING, Unit.COUNT, Aggregation.SUM, "ad clicks")
CONVERSIONS = MetricSpec(
    "conversions_e4", Category.ADVERTISING, Unit.COUNT_E4, Aggregation.SUM, "conversions the platform attributes"
)
CONVERSION_VALUE = MetricSpec(
    "conversion_value_minor",
    Category.ADVERTISING,
    Unit.MONEY_MINOR,
    Aggregation.SUM,
    "purchase value the platform attributes to the ads, as the platform reports the amount",
)
REACH = MetricSpec(
    "reach", Category.ADVERTISING, Unit.COUNT, Aggregation.WINDOW_UNIQUE, "people reached, the platform's own count"
)

# What an advertising platform's campaign rows carry; the account metrics are their daily sums.
ADVERTISING_METRICS: tuple[MetricSpec, ...] = (SPEND, IMPRESSIONS, CLICKS, CONVERSIONS, CONVERSION_VALUE, REACH)


def daily_sums(metrics: tuple[MetricSpec, ...]) -> tuple[MetricSpec, ...]:
    """The metrics stored per day (the additive ones)."""
    return tuple(m for m in metrics if m.aggregation is Aggregation.SUM)
