"""Shopify: the Admin GraphQL API of each shop and its OAuth endpoints, under ``/shopify/{shop}``.

The GraphQL endpoint answers the queries the connector sends (recognised by their root field):
``shop``, ``currentAppInstallation { accessScopes }``, ``orders`` (cursor pages, ``first`` at most
250, a search of ``updated_at`` / ``processed_at`` bounds) and ``order(id) { refunds }``. Every answer
carries ``extensions.cost``; the ``throttle`` fault answers ``THROTTLED`` the way Shopify does.

Orders are deterministic per shop and day: several a day at shop-local times, with discounts,
refunds (on a later day), cancellations, test orders, guests and returning customers. An expiring
or revoked token is a 401. Without ``read_all_orders`` (the ``withhold_read_all_orders`` fault
takes it away from the shop's installation for some minutes, a day by default) orders older than 60
days are left out silently, as Shopify does; ``withhold_read_orders`` answers ``ACCESS_DENIED``.

The token endpoint exchanges a code (``expiring: 1``: an hour's token and a refresh token) or a
refresh token; a refresh token is spent by its use (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from clientpulse.platform_sandbox.credentials import authorize, presented_token
from clientpulse.platform_sandbox.data import AccountProfile
from clientpulse.platform_sandbox.faults import (
    ACCOUNT_FAULTS,
    TOKEN_ACCOUNT,
    TOKEN_FAULTS,
    Argument,
    Fault,
    generic_answer,
)
from clientpulse.platform_sandbox.state import SandboxState, TokenState, state_of

PLATFORM = "shopify"
FAULTS: dict[str, Argument] = {
    # The shop's installation lacks read_all_orders for some minutes (a day by default).
    "withhold_read_all_orders": Argument.OPTIONAL_MINUTES,
    # The request is refused for want of read_orders (ACCESS_DENIED).
    "withhold_read_orders": Argument.NONE,
}
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7_776_000
GRANT_KINDS = {"access": ACCESS_TOKEN_SECONDS}
DEMO_SHOP = "demo-store"
RECENT_ORDER_DAYS = 60
# How far back a shop's orders go.
HISTORY_DAYS = 800
MAX_PAGE = 250
MAX_QUERY_COST = 1000
BUCKET = {"maximumAvailable": 2000.0, "restoreRate": 100.0}
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
_INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - the message, not a credential
# Shops that no test configured: their currency and time zone, picked by the handle.
_SHOP_PLACES = (
    ("USD", "America/Chicago"),
    ("EUR", "Europe/Berlin"),
    ("GBP", "Europe/London"),
    ("AUD", "Australia/Sydney"),
)
_UNIT_PRICES = (Decimal("18.00"), Decimal("24.50"), Decimal("39.99"), Decimal("64.00"), Decimal("120.00"))


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def shop_profile(state: SandboxState, shop: str) -> AccountProfile:
    """The shop as a test configured it, else its deterministic default (the demo shop: USD, Chicago)."""
    profile = state.profile(PLATFORM, shop)
    if (PLATFORM, shop) in state.profiles:
        return profile
    currency, zone = _SHOP_PLACES[0 if shop == DEMO_SHOP else _rng("place", shop).randrange(len(_SHOP_PLACES))]
    return replace(profile, name=f"Sandbox Shop {shop}", currency=currency, time_zone=zone)


@dataclass(frozen=True, slots=True)
class SandboxRefund:
    """A refund of a sandbox order."""

    created_at: datetime
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SandboxOrder:
    """A sandbox order (money in the shop's currency, major units)."""

    number: int
    created_at: datetime
    processed_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    test: bool
    subtotal: Decimal
    discounts: Decimal
    customer_id: str | None
    customer_order_index: int | None
    refunds: tuple[SandboxRefund, ...]


def _order(profile: AccountProfile, day: date, n: int) -> SandboxOrder:
    """The ``n``-th order of a shop-local day."""
    rng = _rng("order", profile.account_id, day.isoformat(), n)
    zone = ZoneInfo(profile.time_zone)
    placed = datetime.combine(day, time.min, zone) + timedelta(seconds=rng.randrange(86_400))
    processed = placed.astimezone(UTC)
    gross = sum((rng.choice(_UNIT_PRICES) * rng.randint(1, 3) for _ in range(rng.randint(1, 3))), Decimal(0))
    discounts = (gross * Decimal(rng.choice((0, 0, 0, 10, 15, 20))) / 100).quantize(Decimal("0.01"))
    subtotal = gross - discounts
    refunds: tuple[SandboxRefund, ...] = ()
    cancelled = None
    roll = rng.random()
    if roll < 0.06:
        cancelled = processed + timedelta(hours=rng.randint(1, 72))
        refunds = (SandboxRefund(cancelled + timedelta(seconds=2), subtotal),)
    elif roll < 0.16:
        share = Decimal(rng.choice((25, 50, 100))) / 100
        refunds = (
            SandboxRefund(processed + timedelta(days=rng.randint(1, 20)), (subtotal * share).quantize(Decimal("0.01"))),
        )
    guest = n % 10 == 7  # one order in ten is a guest checkout
    index = None if guest else (1 if rng.random() < 0.55 else rng.randint(2, 7))
    customer = (
        None
        if guest
        else str(7_000_000 + (rng.randrange(400) if index and index > 1 else 400 + n * 1000 + day.toordinal() % 997))
    )
    changes = [processed, *(r.created_at for r in refunds), *([cancelled] if cancelled else [])]
    return SandboxOrder(
        number=day.toordinal() * 100 + n,
        created_at=processed + timedelta(seconds=1),
        processed_at=processed,
        updated_at=max(changes),
        cancelled_at=cancelled,
        test=rng.random() < 0.04,
        subtotal=subtotal,
        discounts=discounts,
        customer_id=customer,
        customer_order_index=index,
        refunds=refunds,
    )


@lru_cache(maxsize=8192)
def orders_of_day(profile: AccountProfile, day: date) -> tuple[SandboxOrder, ...]:
    """Every order placed on a shop-local day (a handful to a few dozen, by the shop's size)."""
    rng = _rng("orders", profile.account_id, day.isoformat())
    count = rng.randint(2, 6) + profile.campaigns * 2
    return tuple(_order(profile, day, n) for n in range(count))


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    text = format(amount.normalize(), "f") if amount else "0.0"
    bag = {"amount": text, "currencyCode": currency}
    return {"shopMoney": bag, "presentmentMoney": {"amount": text, "currencyCode": currency}}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _visible(moment: datetime, now: datetime) -> bool:
    return moment <= now


def order_node(order: SandboxOrder, currency: str, now: datetime) -> dict[str, Any]:
    """An order as the GraphQL API shows it at ``now`` (refunds and cancellations yet to come are not shown)."""
    refunds = [r for r in order.refunds if _visible(r.created_at, now)]
    cancelled = order.cancelled_at if order.cancelled_at and _visible(order.cancelled_at, now) else None
    refunded = sum((r.amount for r in refunds), Decimal(0))
    return {
        "id": f"gid://shopify/Order/{order.number}",
        "name": f"#{order.number % 100_000}",
        "currencyCode": currency,
        "createdAt": _stamp(order.created_at),
        "processedAt": _stamp(order.processed_at),
        "updatedAt": _stamp(min(order.updated_at, now)),
        "cancelledAt": _stamp(cancelled) if cancelled else None,
        "test": order.test,
        "subtotalPriceSet": _money(order.subtotal, currency),
        "totalDiscountsSet": _money(order.discounts, currency),
        "totalPriceSet": _money(order.subtotal, currency),
        "currentTotalPriceSet": _money(order.subtotal - refunded if not cancelled else Decimal(0), currency),
        "currentSubtotalPriceSet": _money(order.subtotal - refunded if not cancelled else Decimal(0), currency),
        "totalRefundedSet": _money(refunded, currency),
        "customer": {
            "id": f"gid://shopify/Customer/{order.customer_id}",
            "numberOfOrders": str(max(order.customer_order_index or 1, 1)),
        }
        if order.customer_id
        else None,
        "customerJourneySummary": {"customerOrderIndex": order.customer_order_index}
        if order.customer_order_index
        else None,
        "refunds": [
            {"createdAt": _stamp(r.created_at), "totalRefundedSet": _money(r.amount, currency)} for r in refunds
        ],
    }


_BOUND = re.compile(r"(updated_at|processed_at|created_at):([<>]=?)'?([0-9T:\-]+Z?)'?")


def parse_search(search: str) -> dict[tuple[str, str], datetime] | None:
    """The time bounds of an orders search (``updated_at:>='…' processed_at:<'…'``); None if it has none."""
    bounds: dict[tuple[str, str], datetime] = {}
    for field_name, operator, value in _BOUND.findall(search or ""):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        bounds[(field_name, operator)] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return bounds or None


def _matches(order: SandboxOrder, bounds: dict[tuple[str, str], datetime], now: datetime) -> bool:
    values = {
        "updated_at": min(order.updated_at, now),
        "processed_at": order.processed_at,
        "created_at": order.created_at,
    }
    checks = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
    return all(checks[op](values[name], moment) for (name, op), moment in bounds.items())


def searched_orders(state: SandboxState, shop: str, search: str, now: datetime) -> list[SandboxOrder]:
    """The shop's orders a search finds, oldest update first (``sortKey: UPDATED_AT``)."""
    bounds = parse_search(search) or {}
    profile = shop_profile(state, shop)
    zone = ZoneInfo(profile.time_zone)
    today = now.astimezone(zone).date()
    lowest = min(
        (m for (name, _), m in bounds.items() if name in ("updated_at", "created_at")),
        default=now - timedelta(days=RECENT_ORDER_DAYS),
    )
    # Orders go back HISTORY_DAYS; an update lies after the placing.
    first = max(lowest.astimezone(zone).date() - timedelta(days=45), today - timedelta(days=HISTORY_DAYS))
    cut = now - timedelta(days=RECENT_ORDER_DAYS) if not has_all_orders(state, shop) else None
    found: list[SandboxOrder] = []
    day = first
    while day <= today:
        for order in orders_of_day(profile, day):
            if order.processed_at > now or (cut is not None and order.created_at < cut):
                continue
            if _matches(order, bounds, now):
                found.append(order)
        day += timedelta(days=1)
    return sorted(found, key=lambda o: (min(o.updated_at, now), o.number))


def has_all_orders(state: SandboxState, shop: str) -> bool:
    """Whether the shop's installation of the app holds ``read_all_orders`` (a fault may withhold it)."""
    return state.refusal(PLATFORM, f"{shop}#scopes") is None


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"position:{position}".encode()).decode()


def _position(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:
        return None
    name, _, number = text.partition(":")
    return int(number) if name == "position" and number.isdigit() else None


def _cost(requested: float, available: float | None = None) -> dict[str, Any]:
    left = BUCKET["maximumAvailable"] - requested if available is None else available
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None if available is not None else requested,
            "throttleStatus": {**BUCKET, "currentlyAvailable": left},
        }
    }


def _error(message: str, code: str, requested: float, **extra: Any) -> web.Response:
    error = {"message": message, "extensions": {"code": code, **extra}}
    return web.json_response({"data": None, "errors": [error], "extensions": _cost(requested)})


def _query_cost(text: str, first: int) -> float:
    """The requested cost of a query as Shopify counts it: an object 1 point, a connection its ``first``
    times its nodes (each money bag is two objects; refunds count five times or as asked)."""
    if "orders(" not in text:
        return 3.0
    refunds = re.search(r"refunds\(first: (\d+)\)", text)
    per_refund = 3 * int(refunds.group(1)) if refunds else 0
    per_order = 2 + 2 * (text.count("Set {") - (1 if refunds else 0)) + per_refund
    return float(2 + first * per_order)


def _guard(request: web.Request, shop: str, requested: float) -> web.Response | None:
    """Shopify's refusal of this request, or None to answer it."""
    state = state_of(request)
    token = presented_token(request, header="X-Shopify-Access-Token")
    fault = state.next_fault(request, PLATFORM, shop, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    if fault is not None and fault.name == "withhold_read_all_orders":
        state.refuse(PLATFORM, f"{shop}#scopes", fault, fault.argument or 24 * 60)
    if not token or state.token_state(token) in (TokenState.EXPIRED, TokenState.REVOKED):
        return web.json_response({"errors": _INVALID_TOKEN}, status=401)
    if fault is None or fault.name in ("none", "expired_token", "withhold_read_all_orders"):
        return None
    if fault.name == "withhold_read_orders":
        return _access_denied(requested)
    if fault.name == "throttle":
        body = {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
                }
            ],
            "extensions": _cost(requested, available=max(0.0, requested - 50.0)),
        }
        return web.json_response(body)
    return generic_answer(fault)


def _access_denied(requested: float) -> web.Response:
    error = {
        "message": "Access denied for orders field. Required access: `read_orders` access scope.",
        "locations": [{"line": 1, "column": 66}],
        "path": ["orders"],
        "extensions": {
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": "`read_orders` access scope.",
        },
    }
    return web.json_response({"data": None, "errors": [error], "extensions": _cost(requested)})


def _shop_data(state: SandboxState, shop: str) -> dict[str, Any]:
    profile = shop_profile(state, shop)
    return {"shop": {"name": profile.name, "currencyCode": profile.currency, "ianaTimezone": profile.time_zone}}


def _scopes_data(state: SandboxState, shop: str) -> dict[str, Any]:
    handles = ["read_orders", *(["read_all_orders"] if has_all_orders(state, shop) else []), "read_customers"]
    return {"currentAppInstallation": {"accessScopes": [{"handle": h} for h in handles]}}


def _orders_data(state: SandboxState, shop: str, variables: dict[str, Any]) -> dict[str, Any] | str:
    """An orders page, or what is wrong with the request."""
    first, position = variables.get("first"), _position(variables.get("after"))
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
        return f"first must be between 1 and {MAX_PAGE}"
    if position is None:
        return "Invalid cursor for current pagination"
    now = datetime.fromtimestamp(state.now(), UTC)
    orders = searched_orders(state, shop, str(variables.get("query") or ""), now)
    currency = shop_profile(state, shop).currency
    page = orders[position : position + first]
    end = position + len(page)
    nodes = [order_node(o, currency, now) for o in page]
    return {
        "orders": {
            "edges": [{"cursor": _cursor(position + i + 1), "node": node} for i, node in enumerate(nodes)],
            "nodes": nodes,
            "pageInfo": {"hasNextPage": end < len(orders), "endCursor": _cursor(end) if page else None},
        }
    }


def _order_refunds_data(state: SandboxState, shop: str, variables: dict[str, Any]) -> dict[str, Any] | str:
    match = re.fullmatch(r"gid://shopify/Order/(\d+)", str(variables.get("id") or ""))
    if not match:
        return "Invalid global id"
    number = int(match.group(1))
    profile = shop_profile(state, shop)
    now = datetime.fromtimestamp(state.now(), UTC)
    for order in orders_of_day(profile, date.fromordinal(number // 100)):
        if order.number == number:
            node = order_node(order, profile.currency, now)
            return {"order": {"refunds": node["refunds"]}}
    return {"order": None}


async def graphql(request: web.Request) -> web.Response:
    """``POST /admin/api/{version}/graphql.json``: the queries the connector sends."""
    shop = request.match_info["shop"]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"errors": "Bad Request: body must be JSON"}, status=400)
    text = str((body or {}).get("query") or "") if isinstance(body, dict) else ""
    variables = (body.get("variables") if isinstance(body, dict) else None) or {}
    requested = _query_cost(text, int(variables.get("first") or 1))
    if (problem := _guard(request, shop, requested)) is not None:
        return problem
    if requested > MAX_QUERY_COST:
        return _error(
            f"Query cost is {requested:g}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
            "MAX_COST_EXCEEDED",
            requested,
        )
    state = state_of(request)
    data: dict[str, Any] | str
    if "currentAppInstallation" in text:
        data = _scopes_data(state, shop)
    elif "orders(" in text:
        data = _orders_data(state, shop, variables)
    elif "order(id" in text:
        data = _order_refunds_data(state, shop, variables)
    elif "shop {" in text:
        data = _shop_data(state, shop)
    else:
        return _error(
            "This sandbox answers the shop, access scopes, orders and order refunds queries", "UNSUPPORTED", requested
        )
    if isinstance(data, str):
        return _error(data, "BAD_REQUEST", requested)
    version = {"X-Shopify-API-Version": request.match_info["version"]}
    return web.json_response({"data": data, "extensions": _cost(requested)}, headers=version)


async def consent(request: web.Request) -> web.Response:
    """The shop's authorize page, approved at once (the code is for that shop)."""
    return authorize(request, PLATFORM, code_param="code")


def _token_refusal(error: str, description: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _token_fault_answer(fault: Fault) -> web.Response | None:
    if fault.name == "token_rate_limit":
        return web.json_response(
            {"errors": "Too Many Requests"}, status=429, headers={"Retry-After": fault.retry_after()}
        )
    if fault.name == "token_server_error":
        return web.json_response({"errors": "Service Unavailable"}, status=503)
    if fault.name == "invalid_client":
        return _token_refusal("invalid_client", "Client authentication failed", 401)
    if fault.name == "invalid_grant":
        return _token_refusal("invalid_grant", "The grant is invalid, expired or revoked")
    return generic_answer(fault)


def _tokens(state: SandboxState, shop: str) -> dict[str, Any]:
    access_token, _ = state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)
    scopes = ["read_orders", *(["read_all_orders"] if has_all_orders(state, shop) else []), "read_customers"]
    return {
        "access_token": access_token,
        "scope": ",".join(scopes),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": state.issue_refresh_token(PLATFORM),
        "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
    }


async def access_token(request: web.Request) -> web.Response:
    """``POST /admin/oauth/access_token``: a code (``expiring: 1``) or a refresh token for a token pair;
    a refresh token is spent by its use."""
    state, shop = state_of(request), request.match_info["shop"]
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("client_id") or not body.get("client_secret"):
        return _token_refusal("invalid_request", "client_id and client_secret are required")
    refresh = str(body.get("refresh_token") or "")
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    if fault is not None and (problem := _token_fault_answer(fault)) is not None:
        if fault.name == "invalid_grant":
            state.refresh_tokens.pop(refresh, None)
        return problem
    if body.get("grant_type") == "refresh_token":
        if state.refresh_tokens.pop(refresh, None) != PLATFORM:
            return _token_refusal("invalid_grant", "The refresh token is invalid, expired or already used")
        return web.json_response(_tokens(state, shop))
    grant = state.codes.pop(str(body.get("code", "")), None)
    if grant is None or grant["platform"] != PLATFORM:
        return _token_refusal("invalid_grant", "The authorization code is invalid or was already used")
    if str(body.get("expiring", "")) != "1":
        access, _ = state.issue_token(PLATFORM, lifetime=None)
        return web.json_response({"access_token": access, "scope": "read_orders"})
    return web.json_response(_tokens(state, shop))


def add_routes(router: web.UrlDispatcher) -> None:
    """Shopify's routes under ``/shopify/{shop}``."""
    router.add_get("/shopify/{shop}/admin/oauth/authorize", consent)
    router.add_post("/shopify/{shop}/admin/oauth/access_token", access_token)
    router.add_post("/shopify/{shop}/admin/api/{version}/graphql.json", graphql)
