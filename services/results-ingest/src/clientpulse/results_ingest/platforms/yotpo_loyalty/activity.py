"""Loyalty members and their point history, as Yotpo Loyalty & Referrals describes them, turned into
the daily loyalty metrics.

Yotpo has no reporting endpoint: everything here is derived from customer records (``GET
/customers/recent``) and each member's history entries (``GET /customers?with_history=true``). These
functions are pure; the connector fetches, they count.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.domain.catalogue import (
    LOYALTY_MEMBERS,
    LOYALTY_NEW_MEMBERS,
    LOYALTY_REVENUE,
    POINTS_EARNED,
    POINTS_REDEEMED,
    REDEMPTIONS,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.shared.money import to_minor_units

# Entry states in which points were not (or not yet) granted: such an entry counts for nothing.
VOID_STATUSES = frozenset({"pending", "cancelled", "canceled", "declined", "rejected"})
# The words Yotpo shows as an entry's state. A spending entry whose state is none of them shows the
# reward's code instead (the documented example: "$5 Coupon", -250 points, status "FIVEOFF-XYZ").
STATE_WORDS = VOID_STATUSES | frozenset({"approved", "expired", "refunded", "deducted", "adjusted", "removed"})
# The order total on a purchase entry, in hundredths of the major unit, where Yotpo includes it (the
# name Yotpo's order API gives an order's total; the documented history example has no amount).
ORDER_AMOUNT_FIELD = "total_amount_cents"
# Fields of a customer record that tell when the customer last changed (the newest wins).
ACTIVITY_FIELDS = ("updated_at", "last_seen_at", "last_purchase_at", "opted_in_at")


def parse_instant(value: Any) -> datetime | None:
    """A Yotpo timestamp (``2025-06-02T09:05:33.000Z``) as an aware UTC instant; ``None`` if absent."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Member:
    """A customer of the loyalty programme as the customer list shows them."""

    email: str | None
    external_id: str | None
    opted_in: bool
    joined_at: datetime | None
    last_activity: datetime | None


def parse_member(record: dict[str, Any]) -> Member:
    """One record of ``/customers/recent``. A record without ``opt_in`` is a member (the list holds
    the programme's customers); ``opt_in: false`` is a customer who is not (or no longer) in it."""
    moments = [m for m in (parse_instant(record.get(name)) for name in ACTIVITY_FIELDS) if m is not None]
    external = record.get("third_party_id") or record.get("thirty_party_id")
    return Member(
        email=record.get("email") or None,
        external_id=str(external) if external else None,
        opted_in=record.get("opt_in") is not False,
        joined_at=parse_instant(record.get("opted_in_at")),
        last_activity=max(moments) if moments else None,
    )


def member_identity(member: Member) -> str:
    """What tells two list records of the same customer apart from others (email, else external id)."""
    return member.email or member.external_id or repr(member)


def customers_of(body: Any) -> list[dict[str, Any]]:
    """The customer records of one list page (an object with ``customers``, or a bare list)."""
    records = body.get("customers") if isinstance(body, dict) else body
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict)]


def next_cursor(body: Any) -> str | None:
    """The cursor of the next list page (``metadata.next_page_info``), if the page names one."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    cursor = metadata.get("next_page_info") if isinstance(metadata, dict) else None
    return str(cursor) if cursor else None


def needs_history(member: Member, since: datetime) -> bool:
    """Whether a member's history can hold entries at or after ``since``: every entry changes the
    customer, so a customer unchanged since before ``since`` has nothing newer to show."""
    return member.last_activity is not None and member.last_activity >= since


class EntryKind(enum.Enum):
    """What a history entry means for the loyalty metrics."""

    EARNED = "earned"
    REDEEMED = "redeemed"
    OTHER = "other"  # no points, not granted, or points taken away otherwise (expiry, refund, adjustment)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One entry of a member's point history on an account-local day."""

    day: date
    kind: EntryKind
    points: int
    order_amount_minor: int | None


def entry_kind(item: dict[str, Any], reward_names: frozenset[str]) -> EntryKind:
    """Earned points, a reward redeemed, or neither.

    A redemption is a spending entry named after one of the programme's rewards, or one whose state
    is a reward code rather than a state word.
    """
    points = int(item.get("points") or 0)
    status = str(item.get("status") or "").strip().lower()
    if points == 0 or status in VOID_STATUSES:
        return EntryKind.OTHER
    if points > 0:
        return EntryKind.EARNED
    action = str(item.get("action") or "").strip().lower()
    if action in reward_names or (status and status not in STATE_WORDS):
        return EntryKind.REDEEMED
    return EntryKind.OTHER


def entry_day(item: dict[str, Any], zone: ZoneInfo) -> date | None:
    """The account-local day of an entry: when it happened (``completed_at``, which reflects a
    back-dated action), else when it was recorded (``created_at``), else its ``date``."""
    moment = parse_instant(item.get("completed_at")) or parse_instant(item.get("created_at"))
    if moment is not None:
        return moment.astimezone(zone).date()
    try:
        return date.fromisoformat(str(item.get("date"))[:10])
    except ValueError:
        return None


def parse_history(
    items: Iterable[Any], zone: ZoneInfo, currency: str, reward_names: frozenset[str]
) -> list[HistoryEntry]:
    """A member's ``history_items`` as dated entries (entries without a date are left out)."""
    entries = []
    for item in items:
        if not isinstance(item, dict) or (day := entry_day(item, zone)) is None:
            continue
        kind = entry_kind(item, reward_names)
        raw_amount = item.get(ORDER_AMOUNT_FIELD)
        amount = None
        if raw_amount is not None and kind is EntryKind.EARNED:
            amount = to_minor_units(Decimal(str(raw_amount)).scaleb(-2), currency)
        entries.append(HistoryEntry(day, kind, abs(int(item.get("points") or 0)), amount))
    return entries


def reward_names_of(body: Any) -> frozenset[str]:
    """The names of the programme's rewards (``/redemption_options``: a bare list, or wrapped)."""
    options = body.get("redemption_options") if isinstance(body, dict) else body
    if not isinstance(options, list):
        return frozenset()
    return frozenset(str(o["name"]).strip().lower() for o in options if isinstance(o, dict) and o.get("name"))


def window_start(window: DateRange, zone: ZoneInfo) -> datetime:
    """The instant the window's first account-local day begins."""
    return datetime.combine(window.start, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def _days(window: DateRange) -> list[date]:
    return [window.start + timedelta(days=i) for i in range(window.days)]


def member_days(window: DateRange, members: Sequence[Member], zone: ZoneInfo) -> list[MetricDay]:
    """Members at the end of each day (a level) and members who joined that day (a sum).

    The level counts today's members (``opt_in`` not false) who joined on or before the day; Yotpo
    gives no date for leaving, so a customer who left is in no day's level, and a member without a
    join date is counted on every day. New members count every customer who joined that day.
    """
    joined = Counter(m.joined_at.astimezone(zone).date() for m in members if m.joined_at is not None)
    member_joins = sorted(
        m.joined_at.astimezone(zone).date() if m.joined_at else date.min for m in members if m.opted_in
    )
    rows, members_at_end = [], 0
    for day in _days(window):
        while members_at_end < len(member_joins) and member_joins[members_at_end] <= day:
            members_at_end += 1
        rows.append(MetricDay(day, LOYALTY_MEMBERS.key, members_at_end))
        rows.append(MetricDay(day, LOYALTY_NEW_MEMBERS.key, joined.get(day, 0)))
    return rows


def activity_days(window: DateRange, entries: Sequence[HistoryEntry], currency: str) -> list[MetricDay]:
    """Points earned, points redeemed, redemptions and members' order value per day.

    Order value is given when Yotpo puts order amounts on history entries: it is left out when the
    window has earning entries and none carries an amount (the account does not expose amounts).
    """
    inside = [e for e in entries if window.start <= e.day <= window.end]
    earned, redeemed, redemptions, revenue = Counter[date](), Counter[date](), Counter[date](), Counter[date]()
    for e in inside:
        if e.kind is EntryKind.EARNED:
            earned[e.day] += e.points
            revenue[e.day] += e.order_amount_minor or 0
        elif e.kind is EntryKind.REDEEMED:
            redeemed[e.day] += e.points
            redemptions[e.day] += 1
    has_earning = any(e.kind is EntryKind.EARNED for e in inside)
    amounts_known = any(e.order_amount_minor is not None for e in inside) or not has_earning
    rows = []
    for day in _days(window):
        rows.append(MetricDay(day, POINTS_EARNED.key, earned.get(day, 0)))
        rows.append(MetricDay(day, POINTS_REDEEMED.key, redeemed.get(day, 0)))
        rows.append(MetricDay(day, REDEMPTIONS.key, redemptions.get(day, 0)))
        if amounts_known:
            rows.append(MetricDay(day, LOYALTY_REVENUE.key, revenue.get(day, 0), currency=currency))
    return rows
