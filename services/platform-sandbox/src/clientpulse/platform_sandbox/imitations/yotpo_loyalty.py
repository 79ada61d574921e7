"""Yotpo Loyalty & Referrals: API v2 under ``/yotpo/api/v2`` (customers, their history, rewards, campaigns).

Every request carries ``x-guid`` (the programme; any GUID is a programme with its own deterministic
members) and ``x-api-key``: a key granted by ``POST /_sandbox/grants/yotpo_loyalty``, or the programme's
demo key ``sbx-yotpo-key-<guid>``. A missing or unknown key is a 401. The customer list is newest change
first, ``per_page`` (1-250) records a page, the next page's cursor in ``metadata.next_page_info`` (asked
for as ``page_info``). Members enrol with a first order, earn points on purchases (the order total on the entry),
answer surveys (recorded two days late, ``completed_at`` back-dated) and redeem rewards; a few leave the
programme (``opt_in: false``). Only what has happened by the sandbox's clock is shown. Throttling is a 429
without ``Retry-After`` (Yotpo publishes no limits).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.faults import ACCOUNT_FAULTS, Argument, generic_answer
from clientpulse.platform_sandbox.state import TokenState, state_of

PLATFORM = "yotpo_loyalty"
FAULTS: dict[str, Argument] = {}
GRANT_KINDS = {"api_key": 10 * 365 * 86_400.0}
DEMO_GUID = "7f3a9c2e-1b4d-4e8f-9a6b-2c5d8e1f0a37"
DEMO_KEY_PREFIX = "sbx-yotpo-key-"
MAX_PER_PAGE = 250
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
# Members join between these instants; their activity runs on until the horizon.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HORIZON = datetime(2028, 1, 1, tzinfo=UTC)
# The programme's rewards: (id, name, points, code prefix).
REWARDS = ((12345, "$5.00 Off", 500, "FIVEOFF"), (12346, "$10.00 Off", 1000, "TENOFF"))
_NAMES = ["Jane", "Sam", "Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Ines", "Kai", "Lena", "Theo"]
_SURNAMES = ["Doe", "Lee", "Chen", "Silva", "Novak", "Okafor", "Berg", "Rossi", "Haddad", "Kim"]


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One history entry: recorded at ``recorded``, happened at ``happened``."""

    recorded: datetime
    happened: datetime
    action: str
    points: int
    status: str
    amount_cents: int | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A customer of a sandbox programme."""

    index: int
    email: str
    first_name: str
    last_name: str
    external_id: str
    joined: datetime
    opted_in: bool
    entries: tuple[Entry, ...]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _redemption(rng: random.Random, at: datetime, balance: int) -> Entry | None:
    for _id, name, cost, prefix in reversed(REWARDS):
        if balance >= cost and rng.random() < 0.45:
            code = f"{prefix}-{rng.randrange(16**6):06X}"
            return Entry(at, at, name, -cost, code)
    return None


def _activity(rng: random.Random, index: int, start: datetime, until: datetime, balance: int) -> list[Entry]:
    """Purchases, surveys and redemptions of one member from ``start`` until ``until``."""
    entries: list[Entry] = []
    moment = start
    while True:
        moment += timedelta(minutes=rng.randrange(4 * 24 * 60, 60 * 24 * 60))
        if moment >= until:
            return entries
        if rng.random() < 0.15:
            entries.append(Entry(moment + timedelta(days=2), moment, "Complete our Survey", 150, "Approved"))
            balance += 150
        else:
            cents = rng.randrange(1500, 30000)
            cancelled = rng.random() < 0.04
            status = "Cancelled" if cancelled else "Approved"
            order = f"ORD-{index}-{len(entries) + 1}"
            entries.append(Entry(moment, moment, "Made a purchase", cents // 100, status, cents, order))
            balance += 0 if cancelled else cents // 100
        spent = _redemption(rng, moment + timedelta(minutes=rng.randrange(5, 600)), balance)
        if spent is not None:
            entries.append(spent)
            balance += spent.points


def _member(guid: str, index: int) -> Member:
    """The ``index``-th customer: enrolled with a first order; the first is Yotpo's documented John Smith."""
    rng = _rng("yotpo-member", guid, index)
    span = int((HORIZON - EPOCH).total_seconds() * 0.88)
    joined = EPOCH + timedelta(seconds=rng.randrange(span) if index else rng.randrange(86_400))
    opted_in = index == 0 or rng.random() > 0.06
    until = HORIZON if opted_in else joined + timedelta(days=rng.randrange(30, 200))
    cents = rng.randrange(1500, 30000)
    enrolled = (
        Entry(joined, joined, "Create an Account", 100, "Approved"),
        Entry(joined, joined, "Made a purchase", cents // 100, "Approved", cents, f"ORD-{index}-0"),
    )
    first, last = ("John", "Smith") if index == 0 else (rng.choice(_NAMES), rng.choice(_SURNAMES))
    email = "john@example.com" if index == 0 else f"{first.lower()}.{last.lower()}.{index}@{guid[:8].lower()}.example"
    return Member(
        index=index,
        email=email,
        first_name=first,
        last_name=last,
        external_id="CUS_1231H9UQOW9H23" if index == 0 else str(7_234_567_000_000 + index),
        joined=joined,
        opted_in=opted_in,
        entries=(*enrolled, *_activity(rng, index, joined, until, 100 + cents // 100)),
    )


@cache
def programme(guid: str) -> tuple[Member, ...]:
    """Every customer a programme ever has (the same for a GUID in every process)."""
    count = 150 + _rng("yotpo-programme", guid).randrange(100)
    return tuple(_member(guid, i) for i in range(count))


def _shown(member: Member, now: datetime) -> list[Entry]:
    return [e for e in member.entries if e.recorded <= now]


def _record(member: Member, now: datetime) -> dict[str, Any]:
    """A customer record as ``/customers/recent`` and ``/customers`` show it, as of ``now``."""
    shown = _shown(member, now)
    granted = [e for e in shown if e.status != "Cancelled"]
    purchases = [e for e in granted if e.amount_cents is not None]
    last_purchase = max((e.happened for e in purchases), default=None)
    return {
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "phone_number": None,
        "points_balance": sum(e.points for e in granted),
        "points_earned": sum(e.points for e in granted if e.points > 0),
        "perks_redeemed": sum(1 for e in granted if e.points < 0),
        "total_purchases": len(purchases),
        "total_spend_cents": sum(e.amount_cents or 0 for e in purchases),
        "last_purchase_at": _stamp(last_purchase) if last_purchase else None,
        "last_seen_at": _stamp(max(e.recorded for e in shown)),
        "has_store_account": True,
        "opt_in": member.opted_in,
        "opted_in_at": _stamp(member.joined),
        "pos_account_id": None,
        "third_party_id": member.external_id,
        "thirty_party_id": member.external_id,
        **_tier(member, sum(e.points for e in granted if e.points > 0)),
    }


def _tier(member: Member, earned: int) -> dict[str, Any]:
    """The member's VIP tier (by points earned; the sandbox dates its entry at joining) and birthday."""
    name = "Gold" if earned >= 2000 else "Silver" if earned >= 800 else "Bronze"
    entered = member.joined.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "vip_tier_name": name,
        "vip_tier_entry_date": _stamp(entered),
        "vip_tier_expiration": _stamp(entered + timedelta(days=365)),
        "birthday_month": member.index % 12 + 1,
        "birth_day": member.index % 28 + 1,
    }


def _history_item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "created_at": _stamp(entry.recorded),
        "completed_at": _stamp(entry.happened),
        "date": entry.recorded.date().isoformat(),
        "action": entry.action,
        "points": entry.points,
        "status": entry.status,
    }
    if entry.amount_cents is not None:
        item["total_amount_cents"] = entry.amount_cents
        item["order_id"] = entry.order_id
    return item


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _guard(request: web.Request) -> tuple[str, web.Response | None]:
    """The programme asked about, and Yotpo's refusal of this request (or None to answer it)."""
    state = state_of(request)
    guid, key = request.headers.get("x-guid", ""), request.headers.get("x-api-key", "")
    if not guid or not key:
        return guid, _error(401, "Missing x-guid or x-api-key header")
    fault = state.next_fault(request, PLATFORM, guid, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(key)
    known = state.token_state(key)
    demo_key = key == f"{DEMO_KEY_PREFIX}{guid}" and known is not TokenState.REVOKED
    if not demo_key and known is not TokenState.LIVE:
        return guid, _error(401, "Invalid GUID or API key")
    if fault is None or fault.name in ("none", "expired_token"):
        return guid, None
    if fault.name == "throttle":
        return guid, _error(429, "Too many requests")
    return guid, generic_answer(fault)


def _now(request: web.Request) -> datetime:
    return datetime.fromtimestamp(state_of(request).now(), UTC)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(request: web.Request, per_page: int) -> int | None:
    cursor = request.query.get("page_info")
    try:
        if cursor:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            return int(text.removeprefix("offset:")) if text.startswith("offset:") else None
        return (max(1, int(request.query.get("page", "1"))) - 1) * per_page
    except ValueError:
        return None


async def recent_customers(request: web.Request) -> web.Response:
    """``GET /customers/recent``: the programme's customers, newest change first, a page at a time."""
    guid, refused = _guard(request)
    if refused is not None:
        return refused
    try:
        per_page = int(request.query.get("per_page", "50"))
    except ValueError:
        per_page = 0
    if not 1 <= per_page <= MAX_PER_PAGE:
        return _error(400, f"per_page must be between 1 and {MAX_PER_PAGE}")
    offset = _offset(request, per_page)
    if offset is None:
        return _error(400, "page_info is not a cursor this API gave")
    await asyncio.sleep(state_of(request).profile(PLATFORM, guid).latency)
    now = _now(request)
    records = [_record(m, now) for m in programme(guid) if m.joined <= now]
    records.sort(key=lambda r: (r["last_seen_at"], r["email"]), reverse=True)
    page: dict[str, Any] = {"customers": records[offset : offset + per_page]}
    if offset + per_page < len(records):
        page["metadata"] = {"next_page_info": _cursor(offset + per_page)}
    return web.json_response(page)


async def customer_details(request: web.Request) -> web.Response:
    """``GET /customers?customer_email=…`` (or ``customer_id``), with its history on ``with_history=true``."""
    guid, refused = _guard(request)
    if refused is not None:
        return refused
    email, external = request.query.get("customer_email"), request.query.get("customer_id")
    if not email and not external:
        return _error(400, "customer_email or customer_id is required")
    now = _now(request)
    found = [
        m
        for m in programme(guid)
        if m.joined <= now and ((email and m.email == email) or (external and m.external_id == external))
    ]
    if not found:
        return _error(404, "Customer not found")
    body = _record(found[0], now)
    if request.query.get("with_history") == "true":
        body["history_items"] = [_history_item(e) for e in _shown(found[0], now)]
    return web.json_response(body)


async def redemption_options(request: web.Request) -> web.Response:
    """``GET /redemption_options``: the programme's rewards."""
    _guid, refused = _guard(request)
    if refused is not None:
        return refused
    options = [
        {
            "id": reward_id,
            "name": name,
            "description": f"Get {name.removesuffix(' Off')} off every item in our store for {cost} points.",
            "icon": "fa-dollar",
            "cost_text": f"{cost} Points",
        }
        for reward_id, name, cost, _prefix in REWARDS
    ]
    return web.json_response(options)


async def campaigns(request: web.Request) -> web.Response:
    """``GET /campaigns``: how members earn points."""
    _guid, refused = _guard(request)
    if refused is not None:
        return refused
    listed = [
        (1001, "Create an Account", "CreateAccountCampaign", "100 Points"),
        (1002, "Made a purchase", "SpendBasedCampaign", "1 Point per $1"),
        (1003, "Complete our Survey", "CustomActionCampaign", "150 Points"),
    ]
    return web.json_response(
        [
            {"id": i, "title": title, "type": kind, "reward_text": reward, "expires_at": None}
            for i, title, kind, reward in listed
        ]
    )


def add_routes(router: web.UrlDispatcher) -> None:
    """Yotpo Loyalty's routes under ``/yotpo/api/v2``."""
    router.add_get("/yotpo/api/v2/customers/recent", recent_customers)
    router.add_get("/yotpo/api/v2/customers", customer_details)
    router.add_get("/yotpo/api/v2/redemption_options", redemption_options)
    router.add_get("/yotpo/api/v2/campaigns", campaigns)
