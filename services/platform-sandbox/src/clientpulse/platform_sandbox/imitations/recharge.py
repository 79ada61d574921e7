"""Recharge: the REST API version 2021-11 (store, subscriptions, charges) under ``/recharge``.

Every request names its token in ``X-Recharge-Access-Token`` and the version in
``X-Recharge-Version`` (only ``2021-11`` is spoken here). A token opens one store: a token from
``POST /_sandbox/recharge/tokens {"account_id"}`` opens that store, any other token (a granted one,
or one a test made up) the demo store ``copperleaf-coffee``. A store's account id is its shop handle
or its numeric id.

Each store has a deterministic history from 2024-06-01 to 2027-06-30 (seeded by its account id):
subscriptions started every day, most of them cancelled or expired after a while, and a charge per
subscription every 30 days: the checkout charge first, then renewals, mostly ``success``, some
``error`` (never processed), ``refunded`` or ``partially_refunded``. Times are UTC (``+00:00``).

Lists are cursor-paginated (``limit`` at most 250, ``next_cursor``/``previous_cursor`` in the body);
a request with ``cursor`` may carry only ``limit`` besides it (422 otherwise). Answers carry
``X-Recharge-Limit`` (``used/40``, leaking 2 per second per token) for information; the sandbox
itself refuses only through faults: ``throttle`` is Recharge's 429 (no Retry-After),
``expired_token`` a 401 (the token stays dead), ``missing_scope`` a 403 and ``truncated`` an HTTP
200 whose body stops before its ``Content-Length``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.bodies import json_object, required_text
from clientpulse.platform_sandbox.data import AccountProfile
from clientpulse.platform_sandbox.faults import ACCOUNT_FAULTS, Argument, Fault, generic_answer
from clientpulse.platform_sandbox.state import SandboxState, TokenState, state_of

PLATFORM = "recharge"
FAULTS: dict[str, Argument] = {"missing_scope": Argument.NONE, "truncated": Argument.NONE}
# A Recharge API token lives until the store revokes it.
GRANT_KINDS = {"access": 10 * 365 * 86_400}
VERSION = "2021-11"
DEMO_STORE = "copperleaf-coffee"
HISTORY_START = date(2024, 6, 1)
HISTORY_END = date(2027, 6, 30)
BUCKET_SIZE, LEAK_PER_SECOND = 40, 2.0
MAX_LIMIT, DEFAULT_LIMIT = 250, 50
CHARGE_EVERY = timedelta(days=30)
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
_STORE_KIND = "store:"
_PRODUCTS = (("Unseen Sunscreen SPF 40", "22.00"), ("Daily Roast 1 lb", "18.50"), ("Cold Brew Pack", "29.95"))
_SHIPPING = Decimal("4.90")
_buckets: dict[str, tuple[float, float]] = {}  # token → (level, when), for X-Recharge-Limit


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00") if moment is not None else None


def store_profile(state: SandboxState, account: str) -> AccountProfile:
    """The store as a test configured it, else a coffee-and-care shop in New York, in dollars."""
    configured = state.profiles.get((PLATFORM, account))
    if configured is not None:
        return configured
    return AccountProfile(PLATFORM, account, f"Sandbox store {account}", "USD", "America/New_York", 0)


def store_id(account: str) -> int:
    """A store's numeric Recharge id: the account id when it is a number, else one derived from it."""
    return int(account) if account.isdigit() else 100_000 + int(hashlib.sha256(account.encode()).hexdigest()[:6], 16)


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    """One sandbox subscription: when it started and ended, and what it renews."""

    number: int
    created: datetime
    ended: datetime | None
    status: str  # active / cancelled / expired
    product: int
    quantity: int


def _subscriptions(account: str) -> list[SubscriptionFacts]:
    found: list[SubscriptionFacts] = []
    day = HISTORY_START
    end_of_history = datetime.combine(HISTORY_END, datetime.min.time(), UTC)
    while day <= HISTORY_END:
        rng = _rng(PLATFORM, account, "subscriptions", day.isoformat())
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3))):
            created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=rng.randrange(86_400))
            ended: datetime | None = created + timedelta(seconds=int(rng.expovariate(1 / 260) * 86_400))
            status = "expired" if rng.random() < 0.08 else "cancelled"
            if ended is None or ended >= end_of_history:
                ended, status = None, "active"
            found.append(SubscriptionFacts(len(found), created, ended, status, rng.randrange(3), 1 + rng.randrange(2)))
        day += timedelta(days=1)
    return found


def _charge_status(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.86:
        return "success"
    if roll < 0.92:
        return "error"
    return "refunded" if roll < 0.96 else "partially_refunded"


def _charges_of(account: str, sub: SubscriptionFacts, number_base: int) -> list[dict[str, Any]]:
    rng = _rng(PLATFORM, account, "charges", sub.number)
    end = sub.ended or datetime.combine(HISTORY_END, datetime.min.time(), UTC)
    title, price = _PRODUCTS[sub.product]
    total = Decimal(price) * sub.quantity + _SHIPPING
    charges: list[dict[str, Any]] = []
    at = sub.created
    while at <= end:
        status = "success" if not charges else _charge_status(rng)
        processed = None if status == "error" else at + timedelta(minutes=rng.randrange(1, 30))
        refunds = {"refunded": total, "partially_refunded": Decimal("10.00")}.get(status, Decimal("0.00"))
        charges.append(
            {
                "id": number_base + len(charges),
                "subscription": sub.number,
                "type": "checkout" if not charges else "recurring",
                "status": status,
                "created_at": _stamp(at - timedelta(days=0 if not charges else 7)),
                "scheduled_at": at.date().isoformat(),
                "processed_at": _stamp(processed),
                "updated_at": _stamp(processed or at),
                "title": title,
                "quantity": sub.quantity,
                "unit_price": price,
                "total_price": f"{total:.2f}",
                "total_refunds": f"{refunds:.2f}",
                "error": "Customer needs to update credit card" if status == "error" else None,
                "error_type": "CUSTOMER_NEEDS_TO_UPDATE_CARD" if status == "error" else None,
            }
        )
        at += CHARGE_EVERY
    return charges


@lru_cache(maxsize=16)
def store_history(account: str) -> tuple[list[SubscriptionFacts], list[dict[str, Any]]]:
    """A store's subscriptions and the facts of every charge (rendered per request with its currency)."""
    subscriptions = _subscriptions(account)
    charges: list[dict[str, Any]] = []
    for sub in subscriptions:
        charges.extend(_charges_of(account, sub, 900_000_000 + sub.number * 1_000))
    return subscriptions, charges


def subscription_record(account: str, sub: SubscriptionFacts, currency: str) -> dict[str, Any]:
    """A subscription as Recharge 2021-11 lists it."""
    title, price = _PRODUCTS[sub.product]
    base = 389_000_000 + store_id(account) % 1_000 * 100_000
    return {
        "id": base + sub.number,
        "address_id": 129_000_000 + sub.number,
        "customer_id": 36_000_000 + sub.number,
        "analytics_data": {"utm_params": []},
        "cancellation_reason": "Other reason" if sub.status == "cancelled" else None,
        "cancellation_reason_comments": None,
        "cancelled_at": _stamp(sub.ended) if sub.status == "cancelled" else None,
        "charge_interval_frequency": 1,
        "created_at": _stamp(sub.created),
        "expire_after_specific_number_of_charges": 6 if sub.status == "expired" else None,
        "is_prepaid": False,
        "is_skippable": True,
        "next_charge_scheduled_at": None if sub.ended else (sub.created + CHARGE_EVERY).date().isoformat(),
        "order_interval_frequency": 1,
        "order_interval_unit": "month",
        "presentment_currency": currency,
        "price": price,
        "product_title": title,
        "quantity": sub.quantity,
        "sku": f"SKU-{sub.product}",
        "status": sub.status,
        "updated_at": _stamp(sub.ended or sub.created + timedelta(hours=1)),
    }


def charge_record(charge: dict[str, Any], currency: str) -> dict[str, Any]:
    """A charge as Recharge 2021-11 lists it."""
    facts = {k: v for k, v in charge.items() if k not in ("subscription", "title", "quantity", "unit_price")}
    line = {
        "purchase_item_id": 389_000_000 + int(charge["subscription"]),
        "purchase_item_type": "subscription",
        "sku": f"SKU-{charge['title'][:3].upper()}",
        "variant_title": "Default",
        "external_product_id": {"ecommerce": "4342501048418"},
        "external_variant_id": {"ecommerce": "39290394706018"},
        "title": charge["title"],
        "quantity": charge["quantity"],
        "unit_price": charge["unit_price"],
        "total_price": f"{Decimal(charge['unit_price']) * charge['quantity']:.2f}",
    }
    number = int(charge["subscription"])
    return {
        **facts,
        "address_id": 129_000_000 + number,
        "analytics_data": {"utm_params": []},
        "billing_address": {
            "address1": f"{number} Main St",
            "address2": None,
            "city": "Timnath",
            "company": None,
            "country_code": "US",
            "first_name": "Sandbox",
            "last_name": f"Customer {number}",
            "phone": "5555550123",
            "province": "Colorado",
            "zip": "80547",
        },
        "charge_attempts": 1 if charge["status"] == "error" else 0,
        "client_details": {"browser_ip": None, "user_agent": None},
        "currency": currency,
        "customer": {
            "id": 36_000_000 + number,
            "email": f"customer{number}@example.com",
            "external_customer_id": {"ecommerce": str(2_049_000_000_000 + number)},
            "hash": f"{number:024x}",
        },
        "discounts": [],
        "external_order_id": {"ecommerce": None if charge["processed_at"] is None else str(6_100_000_000 + number)},
        "external_transaction_id": {"payment_processor": None if charge["processed_at"] is None else f"ch_{number}"},
        "note": None,
        "orders_count": 0 if charge["processed_at"] is None else 1,
        "payment_processor": "shopify_payments",
        "tags": "Subscription, Subscription Recurring Order",
        "tax_lines": [],
        "taxable": True,
        "taxes_included": False,
        "total_line_items_price": line["total_price"],
        "total_weight_grams": 140 * int(charge["quantity"]),
        "line_items": [line],
        "shipping_lines": [{"code": "Standard", "price": f"{_SHIPPING}", "title": "Standard Shipping"}],
        "subtotal_price": line["total_price"],
        "total_discounts": "0.00",
        "total_tax": "0.00",
    }


def _errors(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errors": text}, status=status, headers=headers)


def _limit_header(state: SandboxState, token: str) -> dict[str, str]:
    """The token's bucket after this request, as ``X-Recharge-Limit`` reports it (informational)."""
    level, when = _buckets.get(token, (0.0, state.now()))
    level = min(BUCKET_SIZE, max(0.0, level - (state.now() - when) * LEAK_PER_SECOND) + 1)
    _buckets[token] = (level, state.now())
    return {"X-Recharge-Limit": f"{math.ceil(level)}/{BUCKET_SIZE}"}


def token_store(state: SandboxState, token: str) -> str:
    """The store a token opens: the one it was issued for, else the demo store."""
    issued = state.tokens.get(token)
    if issued is not None and issued.kind.startswith(_STORE_KIND):
        return issued.kind.removeprefix(_STORE_KIND)
    return DEMO_STORE


async def _truncated(request: web.Request) -> web.StreamResponse:
    """An HTTP 200 that announces a whole page and sends half of it before the connection drops."""
    body = json.dumps({"next_cursor": None, "previous_cursor": None, "subscriptions": [{"id": 1}] * 40}).encode()
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    response.force_close()
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


def _refusal(state: SandboxState, token: str, fault: Fault | None) -> web.Response | None:
    """Recharge's answer to a bad token or a queued fault, or None to answer the request."""
    issued = state.tokens.get(token)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    if state.token_state(token) in (TokenState.REVOKED, TokenState.EXPIRED) or (
        issued is not None and issued.platform != PLATFORM
    ):
        return _errors(401, "Invalid API token. Please make sure the token is correct and has not been revoked.")
    if fault is None or fault.name in ("none", "expired_token"):
        return None
    if fault.name == "missing_scope":
        return _errors(403, "This token is missing the scope read_subscriptions.")
    if fault.name == "throttle":
        return web.json_response(
            {"warning": "too many requests"}, status=429, headers={"X-Recharge-Limit": f"{BUCKET_SIZE}/{BUCKET_SIZE}"}
        )
    return generic_answer(fault)


async def _guard(request: web.Request) -> tuple[str | None, web.StreamResponse | None]:
    """(the store the request reads, or Recharge's refusal of the request)."""
    state = state_of(request)
    token = request.headers.get("X-Recharge-Access-Token", "")
    if not token:
        return None, _errors(401, "A valid X-Recharge-Access-Token header is required.")
    if request.headers.get("X-Recharge-Version") != VERSION:
        return None, _errors(400, f"This sandbox speaks X-Recharge-Version {VERSION} only.")
    store = token_store(state, token)
    fault = state.next_fault(request, PLATFORM, store, _VOCABULARY)
    if fault is not None and fault.name == "truncated":
        return None, await _truncated(request)
    return store, _refusal(state, token, fault)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_TIME_FILTERS = ("created_at", "updated_at", "processed_at")


def _matches(record: dict[str, Any], query: dict[str, str]) -> bool:
    """Whether a record passes the list filters (status, and the ``*_min``/``*_max`` times)."""
    if "status" in query and record.get("status") != query["status"].lower():
        return False
    for name in _TIME_FILTERS:
        low, high = query.get(f"{name}_min"), query.get(f"{name}_max")
        if not (low or high):
            continue
        if record.get(name) is None:
            return False
        value = _instant(str(record[name]))
        if (low and value < _instant(low)) or (high and value > _instant(high)):
            return False
    return True


_SORTS = {"id-asc", "id-desc", "created_at-asc", "created_at-desc", "updated_at-asc", "updated_at-desc"}


def _cursor(query: dict[str, str], position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"query": query, "position": position}).encode()).decode()


def _page_request(request: web.Request) -> tuple[dict[str, str], int, int] | web.Response:
    """(the filters, the position and the limit) of a list request, or its 422."""
    params = dict(request.query)
    try:
        limit = int(params.pop("limit", DEFAULT_LIMIT))
    except ValueError:
        return _errors(422, "limit must be a whole number")
    if not 1 <= limit <= MAX_LIMIT:
        return _errors(422, f"limit must be between 1 and {MAX_LIMIT}")
    if "cursor" not in params:
        if params.get("sort_by", "id-desc") not in _SORTS:
            return _errors(422, f"sort_by must be one of {', '.join(sorted(_SORTS))}")
        return params, 0, limit
    cursor = params.pop("cursor")
    if params:
        return _errors(422, f"With cursor, only limit may be sent; got {', '.join(sorted(params))}.")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dict(decoded["query"]), int(decoded["position"]), limit
    except (ValueError, KeyError, TypeError):
        return _errors(422, "cursor is not a cursor this API issued")


def _sorted(records: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    field, _, direction = sort_by.rpartition("-")
    key: Callable[[dict[str, Any]], Any] = (lambda r: r["id"]) if field == "id" else (lambda r: (r[field], r["id"]))
    return sorted(records, key=key, reverse=direction == "desc")


def _listing(request: web.Request, resource: str, records: list[dict[str, Any]]) -> web.Response:
    page_request = _page_request(request)
    if isinstance(page_request, web.Response):
        return page_request
    query, position, limit = page_request
    try:
        chosen = [r for r in records if _matches(r, query)]
    except ValueError:
        return _errors(422, "time filters must be ISO 8601 times")
    chosen = _sorted(chosen, query.get("sort_by", "id-desc"))
    page = chosen[position : position + limit]
    following = position + limit
    body = {
        "next_cursor": _cursor(query, following) if following < len(chosen) else None,
        "previous_cursor": _cursor(query, max(0, position - limit)) if position > 0 else None,
        resource: page,
    }
    token = request.headers.get("X-Recharge-Access-Token", "")
    return web.json_response(body, headers=_limit_header(state_of(request), token))


async def subscriptions(request: web.Request) -> web.StreamResponse:
    """``GET /subscriptions``: filters ``status``, ``created_at_min/max``, ``updated_at_min/max``."""
    store, refusal = await _guard(request)
    if refusal is not None or store is None:
        return refusal or web.Response(status=500)
    currency = store_profile(state_of(request), store).currency
    records = [subscription_record(store, s, currency) for s in store_history(store)[0]]
    return _listing(request, "subscriptions", records)


async def charges(request: web.Request) -> web.StreamResponse:
    """``GET /charges``: filters ``status``, ``created_at``/``updated_at``/``processed_at`` ``_min/_max``."""
    store, refusal = await _guard(request)
    if refusal is not None or store is None:
        return refusal or web.Response(status=500)
    currency = store_profile(state_of(request), store).currency
    records = [charge_record(c, currency) for c in store_history(store)[1]]
    return _listing(request, "charges", records)


async def store_info(request: web.Request) -> web.StreamResponse:
    """``GET /store``: the store the token opens."""
    store, refusal = await _guard(request)
    if refusal is not None or store is None:
        return refusal or web.Response(status=500)
    profile = store_profile(state_of(request), store)
    body = {
        "id": store_id(store),
        "name": profile.name,
        "currency": profile.currency,
        "iana_timezone": profile.time_zone,
        "timezone": f"{profile.time_zone}",
        "domain": f"{store}.myshopify.com",
        "my_shopify_domain": f"{store}.myshopify.com",
        "platform_domain": f"{store}.myshopify.com",
        "external_platform": "shopify",
        "email": f"owner@{store}.example",
        "enabled_presentment_currencies": [profile.currency],
        "subscriptions_enabled": 1,
        "test_mode": False,
        "created_at": "2024-05-20T10:00:00+00:00",
        "updated_at": "2025-01-01T10:00:00+00:00",
    }
    token = request.headers.get("X-Recharge-Access-Token", "")
    return web.json_response({"store": body}, headers=_limit_header(state_of(request), token))


async def issue_store_token(request: web.Request) -> web.Response:
    """``POST /_sandbox/recharge/tokens {"account_id"}``: an API token of that store, as its owner creates one."""
    body = await json_object(request)
    account = required_text(body, "account_id")
    token, _ = state_of(request).issue_token(PLATFORM, kind=f"{_STORE_KIND}{account}", lifetime=None)
    return web.json_response({"access_token": token, "account_id": account})


def add_routes(router: web.UrlDispatcher) -> None:
    """Recharge's routes under ``/recharge``, and the control route that issues a store's token."""
    router.add_get("/recharge/store", store_info)
    router.add_get("/recharge/subscriptions", subscriptions)
    router.add_get("/recharge/charges", charges)
    router.add_post("/_sandbox/recharge/tokens", issue_store_token)
