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
    BLENDED = "blended"  # across platforms: store revenue against the spend of every ad platform


class Unit(enum.StrEnum):
    """How a stored value is to be read."""

    MONEY_MINOR = "money_minor"  # integer minor units of the row's currency (ISO 4217)
    COUNT = "count"
    COUNT_E4 = "count_e4"  # a fractional count stored as integer ten-thousandths
    RATIO = "ratio"
    DURATION_SECONDS = "duration_seconds"
    SCORE = "score"  # an average rating (satisfaction from 1 to 5)


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


def _sum(key: str, category: Category, unit: Unit, description: str) -> MetricSpec:
    return MetricSpec(key, category, unit, Aggregation.SUM, description)


_M, _N = Unit.MONEY_MINOR, Unit.COUNT

# The store (Shopify): days in the shop's time zone, money in the shop's currency. Sales follow
# Shopify's sales reports: returns count on the day they are refunded, not the day of the order.
GROSS_SALES = _sum("gross_sales_minor", Category.REVENUE, _M, "line items at their price before discounts")
DISCOUNTS = _sum("discounts_minor", Category.REVENUE, _M, "discounts given on the day's orders")
RETURNS = _sum("returns_minor", Category.REVENUE, _M, "value of goods refunded on the day")
NET_SALES = _sum("net_sales_minor", Category.REVENUE, _M, "gross sales minus discounts and returns")
ORDERS = _sum("orders", Category.ORDERS, _N, "orders placed (test and cancelled orders excluded)")
NEW_CUSTOMER_ORDERS = _sum("new_customer_orders", Category.ORDERS, _N, "orders that were the customer's first")
RETURNING_CUSTOMER_ORDERS = _sum(
    "returning_customer_orders", Category.ORDERS, _N, "orders of customers who had ordered before"
)
STORE_METRICS = (GROSS_SALES, DISCOUNTS, RETURNS, NET_SALES, ORDERS, NEW_CUSTOMER_ORDERS, RETURNING_CUSTOMER_ORDERS)

# Email (Klaviyo): campaigns count on their send day, flows on the day of each message.
EMAIL_RECIPIENTS = _sum("email_recipients", Category.EMAIL, _N, "messages sent")
EMAIL_DELIVERED = _sum("email_delivered", Category.EMAIL, _N, "messages delivered")
EMAIL_OPENS = _sum("email_opens", Category.EMAIL, _N, "unique opens")
EMAIL_CLICKS = _sum("email_clicks", Category.EMAIL, _N, "unique clicks")
EMAIL_CONVERSIONS = _sum("email_conversions", Category.EMAIL, _N, "conversions of the account's conversion metric")
EMAIL_REVENUE = _sum("email_revenue_minor", Category.EMAIL, _M, "value of the attributed conversions")
EMAIL_UNSUBSCRIBES = _sum("email_unsubscribes", Category.EMAIL, _N, "unique unsubscribes")
EMAIL_METRICS = (
    EMAIL_RECIPIENTS,
    EMAIL_DELIVERED,
    EMAIL_OPENS,
    EMAIL_CLICKS,
    EMAIL_CONVERSIONS,
    EMAIL_REVENUE,
    EMAIL_UNSUBSCRIBES,
)

# Traffic (GA4): days in the property's time zone. Users count people: only a window's own figure.
SESSIONS = _sum("sessions", Category.TRAFFIC, _N, "sessions")
ENGAGED_SESSIONS = _sum("engaged_sessions", Category.TRAFFIC, _N, "engaged sessions")
NEW_USERS = _sum("new_users", Category.TRAFFIC, _N, "users on their first visit (each counted once, on that day)")
KEY_EVENTS = _sum("key_events_e4", Category.TRAFFIC, Unit.COUNT_E4, "key events (GA4's keyEvents)")
TRANSACTIONS = _sum("transactions", Category.TRAFFIC, _N, "purchase transactions")
PURCHASE_REVENUE = _sum("purchase_revenue_minor", Category.TRAFFIC, _M, "purchase revenue")
TOTAL_USERS = MetricSpec(
    "total_users", Category.TRAFFIC, _N, Aggregation.WINDOW_UNIQUE, "people who visited, GA4's count for a window"
)
TRAFFIC_METRICS = (SESSIONS, ENGAGED_SESSIONS, NEW_USERS, KEY_EVENTS, TRANSACTIONS, PURCHASE_REVENUE, TOTAL_USERS)

# Support (Gorgias): durations kept as totals with their counts, so averages come from sums.
TICKETS_CREATED = _sum("tickets_created", Category.SUPPORT, _N, "tickets opened")
TICKETS_CLOSED = _sum("tickets_closed", Category.SUPPORT, _N, "tickets closed")
FIRST_RESPONSE_TOTAL = _sum(
    "first_response_seconds_total", Category.SUPPORT, Unit.DURATION_SECONDS, "time to first agent reply, summed"
)
FIRST_RESPONSES = _sum("first_responses", Category.SUPPORT, _N, "tickets that got a first agent reply")
RESOLUTION_TOTAL = _sum(
    "resolution_seconds_total", Category.SUPPORT, Unit.DURATION_SECONDS, "time from opening to closing, summed"
)
RESOLUTIONS = _sum("resolutions", Category.SUPPORT, _N, "closed tickets whose resolution time is known")
CSAT_SCORE_TOTAL = _sum("csat_score_total", Category.SUPPORT, _N, "satisfaction scores (1 to 5), summed")
CSAT_RESPONSES = _sum("csat_responses", Category.SUPPORT, _N, "satisfaction surveys answered")
SUPPORT_METRICS = (
    TICKETS_CREATED,
    TICKETS_CLOSED,
    FIRST_RESPONSE_TOTAL,
    FIRST_RESPONSES,
    RESOLUTION_TOTAL,
    RESOLUTIONS,
    CSAT_SCORE_TOTAL,
    CSAT_RESPONSES,
)

# Loyalty (Yotpo Loyalty): members is a level, the value at the end of a day.
LOYALTY_MEMBERS = MetricSpec(
    "loyalty_members", Category.LOYALTY, _N, Aggregation.LEVEL, "members enrolled, at the end of the day"
)
LOYALTY_NEW_MEMBERS = _sum("loyalty_new_members", Category.LOYALTY, _N, "members who joined")
POINTS_EARNED = _sum("points_earned", Category.LOYALTY, _N, "points members earned")
POINTS_REDEEMED = _sum("points_redeemed", Category.LOYALTY, _N, "points members spent on rewards")
REDEMPTIONS = _sum("redemptions", Category.LOYALTY, _N, "rewards redeemed")
LOYALTY_REVENUE = _sum("loyalty_revenue_minor", Category.LOYALTY, _M, "order value of members' purchases")
LOYALTY_METRICS = (LOYALTY_MEMBERS, LOYALTY_NEW_MEMBERS, POINTS_EARNED, POINTS_REDEEMED, REDEMPTIONS, LOYALTY_REVENUE)

# Subscriptions (Recharge): active subscriptions is a level, the value at the end of a day.
ACTIVE_SUBSCRIPTIONS = MetricSpec(
    "active_subscriptions", Category.SUBSCRIPTIONS, _N, Aggregation.LEVEL, "active subscriptions at the end of the day"
)
SUBSCRIPTIONS_CREATED = _sum("subscriptions_created", Category.SUBSCRIPTIONS, _N, "subscriptions started")
SUBSCRIPTIONS_CANCELLED = _sum("subscriptions_cancelled", Category.SUBSCRIPTIONS, _N, "subscriptions cancelled")
CHARGES = _sum("charges", Category.SUBSCRIPTIONS, _N, "successful recurring charges")
RECURRING_REVENUE = _sum("recurring_revenue_minor", Category.SUBSCRIPTIONS, _M, "value of the successful charges")
SUBSCRIPTION_METRICS = (
    ACTIVE_SUBSCRIPTIONS,
    SUBSCRIPTIONS_CREATED,
    SUBSCRIPTIONS_CANCELLED,
    CHARGES,
    RECURRING_REVENUE,
)

CATALOGUE: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        *ADVERTISING_METRICS,
        *STORE_METRICS,
        *EMAIL_METRICS,
        *TRAFFIC_METRICS,
        *SUPPORT_METRICS,
        *LOYALTY_METRICS,
        *SUBSCRIPTION_METRICS,
    )
}


def daily_sums(metrics: tuple[MetricSpec, ...]) -> tuple[MetricSpec, ...]:
    """The metrics stored per day (the additive ones)."""
    return tuple(m for m in metrics if m.aggregation is Aggregation.SUM)


@dataclass(frozen=True, slots=True)
class DerivedMetric:
    """A ratio read from a window's sums, never stored and never an average of daily ratios.

    ``numerator`` minus ``subtract`` over ``denominator`` (each a sum of catalogue metrics over the
    window). A ``level`` in the denominator is read at the end of the day before the window starts
    (churn: cancellations over the subscriptions active when the period began). Money over money
    stays inside one currency; money over a count is given when the client's amounts share one.
    """

    key: str
    category: Category
    unit: Unit
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    description: str
    subtract: tuple[str, ...] = ()

    @property
    def operands(self) -> tuple[str, ...]:
        """Every catalogue metric the ratio reads."""
        return (*self.numerator, *self.subtract, *self.denominator)


def _ratio(key: str, category: Category, unit: Unit, num: str, den: str, description: str) -> DerivedMetric:
    return DerivedMetric(key, category, unit, (num,), (den,), description)


DERIVED_METRICS: tuple[DerivedMetric, ...] = (
    _ratio("roas", Category.ADVERTISING, Unit.RATIO, "conversion_value_minor", "spend_minor", "platform ROAS"),
    _ratio("cpa_minor", Category.ADVERTISING, _M, "spend_minor", "conversions_e4", "cost per conversion"),
    _ratio("ctr", Category.ADVERTISING, Unit.RATIO, "clicks", "impressions", "click-through rate"),
    DerivedMetric(
        "aov_minor",
        Category.ORDERS,
        _M,
        ("gross_sales_minor",),
        ("orders",),
        "average order value: gross sales minus discounts, per order",
        subtract=("discounts_minor",),
    ),
    _ratio(
        "email_open_rate", Category.EMAIL, Unit.RATIO, "email_opens", "email_delivered", "unique opens per delivery"
    ),
    _ratio(
        "email_click_rate", Category.EMAIL, Unit.RATIO, "email_clicks", "email_delivered", "unique clicks per delivery"
    ),
    _ratio(
        "email_unsubscribe_rate",
        Category.EMAIL,
        Unit.RATIO,
        "email_unsubscribes",
        "email_delivered",
        "unsubscribes per delivery",
    ),
    _ratio(
        "email_revenue_per_recipient_minor",
        Category.EMAIL,
        _M,
        "email_revenue_minor",
        "email_recipients",
        "attributed revenue per message sent",
    ),
    _ratio(
        "engagement_rate", Category.TRAFFIC, Unit.RATIO, "engaged_sessions", "sessions", "engaged sessions per session"
    ),
    _ratio(
        "session_conversion_rate", Category.TRAFFIC, Unit.RATIO, "transactions", "sessions", "transactions per session"
    ),
    _ratio(
        "avg_first_response_seconds",
        Category.SUPPORT,
        Unit.DURATION_SECONDS,
        "first_response_seconds_total",
        "first_responses",
        "average time to the first agent reply",
    ),
    _ratio(
        "avg_resolution_seconds",
        Category.SUPPORT,
        Unit.DURATION_SECONDS,
        "resolution_seconds_total",
        "resolutions",
        "average time from opening to closing",
    ),
    _ratio("csat", Category.SUPPORT, Unit.SCORE, "csat_score_total", "csat_responses", "average satisfaction (1 to 5)"),
    _ratio(
        "churn_rate",
        Category.SUBSCRIPTIONS,
        Unit.RATIO,
        "subscriptions_cancelled",
        "active_subscriptions",
        "cancellations over the subscriptions active when the period began",
    ),
)

# Across platforms (the blended view): store revenue against the spend of every ad platform, with
# amounts in different currencies converted day by day at the dated rate before they are added.
BLENDED_REVENUE = NET_SALES.key
BLENDED_SPEND = SPEND.key
BLENDED_ORDERS = ORDERS.key
