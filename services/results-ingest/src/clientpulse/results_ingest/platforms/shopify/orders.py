"""Shopify orders turned into the store's daily sales, the way Shopify's own sales reports count them.

- A sale counts on the day its order was processed (``processedAt``, the order's date in Shopify's
  reports; it differs from ``createdAt`` for imported orders), in the shop's time zone.
- Gross sales are the line items before discounts: the order's subtotal (after discounts) plus its
  discounts. Discounts count on the order's day.
- Returns count on the day they happen: each refund on its ``createdAt`` day at the amount refunded.
  A cancellation is a return on the day of the cancellation (Shopify's sales reports: a cancelled
  order is a sale on its day and a return on the day it was cancelled, zero overall): the order's
  sales not already refunded before it was cancelled; the refund a cancellation issues is part of it.
- Net sales are gross sales minus discounts minus returns.
- Orders, new- and returning-customer orders count orders placed that day, test and cancelled
  orders excluded. A new customer's order is the customer's first order, by Shopify's own position
  of the order in the customer's history (``customerJourneySummary.customerOrderIndex``, test
  orders not counted); guest orders without a customer are neither new nor returning.
- Test orders count nowhere.

Where this differs from Shopify's report: a refund counts at the amount refunded, which includes any
tax and shipping it gave back (Shopify's report splits those out of returns; reading each refund's
line items would multiply a page's query cost); in a shop whose prices include tax, gross sales and
discounts include it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.connectors.base import PlatformError
from clientpulse.results_ingest.domain.catalogue import (
    DISCOUNTS,
    GROSS_SALES,
    NET_SALES,
    NEW_CUSTOMER_ORDERS,
    ORDERS,
    RETURNING_CUSTOMER_ORDERS,
    RETURNS,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.shared.money import to_minor_units

MONEY_METRICS = (GROSS_SALES.key, DISCOUNTS.key, RETURNS.key, NET_SALES.key)
COUNT_METRICS = (ORDERS.key, NEW_CUSTOMER_ORDERS.key, RETURNING_CUSTOMER_ORDERS.key)


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund of an order: when it was made and how much was refunded (minor units)."""

    created_at: datetime
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Order:
    """What the daily sales need of one order (money in minor units of the shop's currency)."""

    order_id: str
    processed_at: datetime
    cancelled_at: datetime | None
    test: bool
    subtotal_minor: int  # line items after discounts
    discounts_minor: int
    customer_order_index: int | None  # 1: the customer's first order; None: a guest, or not known
    has_customer: bool
    refunds: tuple[Refund, ...]


def instant(text: str) -> datetime:
    """A Shopify ``DateTime`` (ISO 8601, ``Z`` for UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shop_money(bag: Mapping[str, Any] | None, currency: str, what: str) -> int:
    """A MoneyBag's shop-currency amount in minor units; another currency than the shop's is refused."""
    money = (bag or {}).get("shopMoney") or {"amount": "0", "currencyCode": currency}
    if str(money.get("currencyCode", currency)).upper() != currency.upper():
        raise PlatformError(f"Shopify gave {what} in {money.get('currencyCode')}, not the shop's currency {currency}")
    return to_minor_units(str(money["amount"]), currency)


def parse_order(node: Mapping[str, Any], currency: str) -> Order:
    """One order node of an orders page."""
    journey = node.get("customerJourneySummary") or {}
    index = journey.get("customerOrderIndex")
    refunds = tuple(
        Refund(instant(r["createdAt"]), shop_money(r.get("totalRefundedSet"), currency, "a refund"))
        for r in node.get("refunds") or []
    )
    return Order(
        order_id=str(node["id"]),
        processed_at=instant(node.get("processedAt") or node["createdAt"]),
        cancelled_at=instant(node["cancelledAt"]) if node.get("cancelledAt") else None,
        test=bool(node.get("test")),
        subtotal_minor=shop_money(node.get("subtotalPriceSet"), currency, "an order subtotal"),
        discounts_minor=shop_money(node.get("totalDiscountsSet"), currency, "order discounts"),
        customer_order_index=int(index) if index is not None else None,
        has_customer=node.get("customer") is not None,
        refunds=refunds,
    )


def returns_of(order: Order) -> list[tuple[datetime, int]]:
    """The order's returns: each refund when it was made; a cancellation as the sales it took back."""
    if order.cancelled_at is None:
        return [(r.created_at, r.amount_minor) for r in order.refunds]
    before = [(r.created_at, r.amount_minor) for r in order.refunds if r.created_at < order.cancelled_at]
    remaining = max(0, order.subtotal_minor - sum(amount for _, amount in before))
    return [*before, (order.cancelled_at, remaining)]


def _count_order(order: Order, day: date, sums: dict[tuple[date, str], int]) -> None:
    sums[(day, ORDERS.key)] += 1
    if order.customer_order_index == 1:
        sums[(day, NEW_CUSTOMER_ORDERS.key)] += 1
    elif order.customer_order_index is not None and order.customer_order_index > 1:
        sums[(day, RETURNING_CUSTOMER_ORDERS.key)] += 1


def daily_sales(orders: Iterable[Order], window: DateRange, time_zone: str, currency: str) -> list[MetricDay]:
    """Every store metric for every day of the window (shop-local days), zeros included."""
    zone = ZoneInfo(time_zone)
    sums: dict[tuple[date, str], int] = defaultdict(int)
    seen: set[str] = set()
    for order in orders:
        if order.test or order.order_id in seen:
            continue
        seen.add(order.order_id)
        day = order.processed_at.astimezone(zone).date()
        if window.start <= day <= window.end:
            sums[(day, GROSS_SALES.key)] += order.subtotal_minor + order.discounts_minor
            sums[(day, DISCOUNTS.key)] += order.discounts_minor
            if order.cancelled_at is None:
                _count_order(order, day, sums)
        for when, amount in returns_of(order):
            returned_on = when.astimezone(zone).date()
            if window.start <= returned_on <= window.end:
                sums[(returned_on, RETURNS.key)] += amount
    rows: list[MetricDay] = []
    for offset in range((window.end - window.start).days + 1):
        day = window.start + timedelta(days=offset)
        sums[(day, NET_SALES.key)] = (
            sums[(day, GROSS_SALES.key)] - sums[(day, DISCOUNTS.key)] - sums[(day, RETURNS.key)]
        )
        rows.extend(MetricDay(day, key, sums[(day, key)], currency) for key in MONEY_METRICS)
        rows.extend(MetricDay(day, key, sums[(day, key)]) for key in COUNT_METRICS)
    return rows
