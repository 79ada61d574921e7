"""Recharge's subscriptions and charges turned into the store's daily subscription metrics.

Pure functions over the API's records (2021-11 shapes): no requests here. Days are the store's own
days (its IANA time zone); money is in minor units of the store currency.

- ``active_subscriptions`` is a level: subscriptions started on or before the day and not ended by
  its end (a subscription cancelled during the day no longer counts at its end).
- ``subscriptions_created`` / ``subscriptions_cancelled`` count ``created_at`` / ``cancelled_at`` per day.
- ``charges`` / ``recurring_revenue_minor`` count the recurring charges that brought money in, on the
  day Recharge processed them (``processed_at``): status ``success`` at ``total_price``, and
  ``partially_refunded`` at ``total_price`` minus ``total_refunds``. Failed, skipped, queued and
  wholly refunded charges bring nothing in. Checkout charges are the purchase that started a
  subscription (a store's order, not a renewal) and are left out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.domain.catalogue import (
    ACTIVE_SUBSCRIPTIONS,
    CHARGES,
    RECURRING_REVENUE,
    SUBSCRIPTIONS_CANCELLED,
    SUBSCRIPTIONS_CREATED,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.shared.money import to_minor_units

_log = logging.getLogger("clientpulse.results_ingest.platforms.recharge")

# Charge statuses (2021-11, lowercase) under which the store kept money.
COLLECTED_STATUSES = frozenset({"success", "partially_refunded"})
# A checkout charge is the first purchase itself; renewals are "recurring".
RENEWAL_TYPE = "recurring"
ENDED_STATUSES = frozenset({"cancelled", "expired"})


def parse_instant(text: str) -> datetime:
    """A Recharge timestamp as an aware instant; one without an offset is UTC (2021-11 sends ``+00:00``)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(text: str, zone: ZoneInfo) -> date:
    """The store-local day a Recharge timestamp falls on."""
    return parse_instant(text).astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class SubscriptionSpan:
    """When a subscription started and, if it did, ended (store-local days); ``cancelled`` when a
    person or the store cancelled it (an expired subscription ran out its charges instead)."""

    subscription_id: str
    started: date
    ended: date | None
    cancelled: bool


def subscription_span(record: Mapping[str, Any], zone: ZoneInfo) -> SubscriptionSpan:
    """A subscription's span from its ``created_at``, ``status`` and ``cancelled_at``.

    An expired subscription without ``cancelled_at`` ended when it was last updated (its last
    charge made it expire; Recharge keeps no separate end time).
    """
    status = str(record.get("status") or "").lower()
    ended: date | None = None
    if status in ENDED_STATUSES:
        end_text = record.get("cancelled_at") or record.get("updated_at")
        ended = local_day(str(end_text), zone) if end_text else None
    return SubscriptionSpan(
        subscription_id=str(record.get("id")),
        started=local_day(str(record["created_at"]), zone),
        ended=ended,
        cancelled=status == "cancelled" and ended is not None,
    )


@dataclass(frozen=True, slots=True)
class CollectedCharge:
    """A renewal charge that brought money in: its store-local day and the money kept (minor units)."""

    charge_id: str
    day: date
    amount_minor: int


def collected_charge(record: Mapping[str, Any], zone: ZoneInfo, currency: str) -> CollectedCharge | None:
    """The money a charge brought in, or ``None`` when it brought none (or is not a renewal).

    A charge in another currency than the store's (a multi-currency store's presentment currency)
    is left out and logged: amounts of two currencies are never added.
    """
    status = str(record.get("status") or "").lower()
    kind = str(record.get("type") or RENEWAL_TYPE).lower()
    if status not in COLLECTED_STATUSES or kind != RENEWAL_TYPE or not record.get("processed_at"):
        return None
    charged_in = str(record.get("currency") or currency).upper()
    if charged_in != currency.upper():
        _log.warning(
            "Recharge charge %s is in %s, not the store currency %s: left out of the revenue",
            record.get("id"),
            charged_in,
            currency,
        )
        return None
    kept = Decimal(str(record.get("total_price") or "0"))
    if status == "partially_refunded":
        kept -= Decimal(str(record.get("total_refunds") or "0"))
    return CollectedCharge(
        charge_id=str(record.get("id")),
        day=local_day(str(record["processed_at"]), zone),
        amount_minor=to_minor_units(kept, currency),
    )


def _days(window: DateRange) -> list[date]:
    return [window.start + timedelta(days=i) for i in range(window.days)]


def subscription_metric_days(spans: Iterable[SubscriptionSpan], window: DateRange) -> list[MetricDay]:
    """Active (at each day's end), started and cancelled subscriptions for every day of the window.

    ``spans`` must hold every subscription that was active at any time in the window; others add
    nothing. A subscription that started and ended on the same day counts as started and cancelled,
    never as active.
    """
    started_on: Counter[date] = Counter()
    ended_on: Counter[date] = Counter()
    cancelled_on: Counter[date] = Counter()
    active_before = 0
    for span in {s.subscription_id: s for s in spans}.values():  # a subscription listed twice counts once
        if span.ended is not None and span.ended < span.started:
            span = SubscriptionSpan(span.subscription_id, span.started, span.started, span.cancelled)
        if span.started < window.start and (span.ended is None or span.ended >= window.start):
            active_before += 1
        started_on[span.started] += 1
        if span.ended is not None:
            ended_on[span.ended] += 1
            if span.cancelled:
                cancelled_on[span.ended] += 1
    rows: list[MetricDay] = []
    active = active_before
    for day in _days(window):
        active += started_on[day] - ended_on[day]
        rows.append(MetricDay(day, ACTIVE_SUBSCRIPTIONS.key, active))
        rows.append(MetricDay(day, SUBSCRIPTIONS_CREATED.key, started_on[day]))
        rows.append(MetricDay(day, SUBSCRIPTIONS_CANCELLED.key, cancelled_on[day]))
    return rows


def charge_metric_days(charges: Iterable[CollectedCharge], window: DateRange, currency: str) -> list[MetricDay]:
    """Renewal charges and the money they kept, for every day of the window (zeros included)."""
    count: Counter[date] = Counter()
    money: Counter[date] = Counter()
    for charge in {c.charge_id: c for c in charges}.values():  # a charge listed twice counts once
        count[charge.day] += 1
        money[charge.day] += charge.amount_minor
    rows: list[MetricDay] = []
    for day in _days(window):
        rows.append(MetricDay(day, CHARGES.key, count[day]))
        rows.append(MetricDay(day, RECURRING_REVENUE.key, money[day], currency=currency))
    return rows
