"""Shopify (Admin GraphQL API): the shop, its orders and their refunds, read into the store's daily sales.

Throttling is Shopify's calculated query cost (a leaky bucket per app and shop): every answer carries
``extensions.cost.throttleStatus``; a throttled request answers ``errors[].extensions.code ==
"THROTTLED"`` (with HTTP 200, some report 429) and the wait is the points missing for the query
divided by the restore rate. Without the ``read_all_orders`` scope Shopify silently returns only the
last 60 days of orders, so a window reaching further back is refused rather than read short (a
recent window of such a shop still misses the refunds of orders placed more than 60 days ago).

Orders are searched by ``updated_at`` since the window's start (a refund or a cancellation updates
its order) and ``processed_at`` before its end, so one pass finds the window's sales and its returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    Credentials,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
    token_endpoint_error,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms.shopify.orders import Order, daily_sales, parse_order

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.shopify import ShopifySettings

PLATFORM_KEY = "shopify"
THROTTLED_SIGNAL = "shopify_throttled"
ALL_ORDERS_SCOPE = "read_all_orders"
# Without read_all_orders Shopify shows the orders of the last 60 days (counted back from now): the
# earliest shop-local day it shows whole is 59 days before today.
RECENT_ORDER_DAYS = 60
# A page's requested cost stays under Shopify's 1,000-point ceiling for one query: about 22 points an
# order (objects, money bags, five refunds).
ORDERS_PAGE = 40
REFUNDS_PER_ORDER = 5
MIN_THROTTLE_WAIT = 0.05
# Renew an expiring access token this long before it ends (they last an hour).
RENEW_AHEAD = timedelta(minutes=5)

SHOP_QUERY = "query Shop { shop { name currencyCode ianaTimezone } }"
SCOPES_QUERY = "query Scopes { currentAppInstallation { accessScopes { handle } } }"
_MONEY = "shopMoney { amount currencyCode }"
_REFUND = f"createdAt totalRefundedSet {{ {_MONEY} }}"
ORDERS_QUERY = (
    "query Orders($first: Int!, $after: String, $query: String) { "
    "orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { "
    "nodes { id createdAt processedAt cancelledAt test "
    f"subtotalPriceSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }} "
    "customer { id } customerJourneySummary { customerOrderIndex } "
    f"refunds(first: {REFUNDS_PER_ORDER}) {{ {_REFUND} }} }} "
    "pageInfo { hasNextPage endCursor } } }"
)
# An order with as many refunds as the page asks for may have more: its refunds are read whole.
ORDER_REFUNDS_QUERY = f"query OrderRefunds($id: ID!) {{ order(id: $id) {{ refunds {{ {_REFUND} }} }} }}"


@dataclass(frozen=True, slots=True)
class CostStatus:
    """Shopify's calculated-cost bucket after an answer: points available and points restored a second."""

    requested: float
    available: float
    restore_rate: float

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds ``cost`` points."""
        if self.restore_rate <= 0:
            return 1.0
        return max(0.0, (cost - self.available) / self.restore_rate)


def cost_status(body: Any) -> CostStatus | None:
    """The ``extensions.cost`` of an answer, if it has one (numbers may come as ints or floats)."""
    cost = ((body or {}).get("extensions") or {}).get("cost") if isinstance(body, dict) else None
    status = (cost or {}).get("throttleStatus")
    if not cost or not status:
        return None
    return CostStatus(
        requested=float(cost.get("requestedQueryCost") or 0),
        available=float(status.get("currentlyAvailable") or 0),
        restore_rate=float(status.get("restoreRate") or 0),
    )


def _graphql_errors(body: dict[str, Any]) -> None:
    """Raise what a GraphQL ``errors`` list means: throttling, a missing scope, or a refused query."""
    errors = body.get("errors")
    if not errors:
        return
    if isinstance(errors, str):
        raise PlatformError(f"Shopify: {errors}")
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
    messages = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    if "THROTTLED" in codes:
        status = cost_status(body)
        # Another caller of the same shop may have emptied the bucket again: never retry at once.
        wait = max(MIN_THROTTLE_WAIT, status.wait_for(status.requested)) if status else 1.0
        raise Throttled(f"Shopify throttled the query: {messages}", wait, signal=THROTTLED_SIGNAL)
    if "ACCESS_DENIED" in codes:
        required = "; ".join(
            str((e.get("extensions") or {}).get("requiredAccess", "")) for e in errors if isinstance(e, dict)
        )
        raise PlatformError(
            f"Shopify refused access ({messages}). The app needs {required or 'another access scope'}: "
            "grant it and connect the shop again"
        )
    if "INTERNAL_SERVER_ERROR" in codes:
        raise Transient(f"Shopify: {messages}")
    # Any other error, even beside partial data, is a refusal: part of an answer would read short.
    raise PlatformError(f"Shopify refused the query: {messages}")


def interpret(response: httpx.Response) -> dict[str, Any]:
    """A Shopify GraphQL answer as its body, or the error it means."""
    if response.status_code == 401:
        raise TokenExpired("Shopify refused the access token (401): it expired or the app was uninstalled")
    if response.status_code in (402, 403, 404, 423):
        reasons = {402: "the shop is frozen (unpaid)", 403: "access is forbidden", 404: "no such shop"}
        raise PlatformError(f"Shopify answered {response.status_code}: {reasons.get(response.status_code, 'locked')}")
    body = json_body(response, "Shopify") if response.content else None
    if response.status_code == 429:
        if isinstance(body, dict):
            _graphql_errors(body)
        raise Throttled("Shopify answered 429", retry_after_seconds(response) or 1.0, signal=THROTTLED_SIGNAL)
    if response.status_code >= 500:
        raise Transient(f"Shopify answered {response.status_code}")
    if not isinstance(body, dict):
        raise Transient("Shopify answered without a JSON object")
    if response.status_code >= 400:
        raise PlatformError(f"Shopify answered {response.status_code}: {body.get('errors') or body}")
    _graphql_errors(body)
    return body


def interpret_token_answer(response: httpx.Response) -> dict[str, Any]:
    """Shopify's token endpoint answer (a code exchange or a refresh)."""
    body = json_body(response, "Shopify token endpoint") if response.content else None
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return body
    raise token_endpoint_error("Shopify", response, body if isinstance(body, dict) else None)


def credentials_from(body: dict[str, Any], now: datetime, spent_refresh: str | None = None) -> Credentials:
    """Credentials of a token answer; an expiring offline token comes with the refresh token replacing the last."""
    expires_in = body.get("expires_in")
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or spent_refresh,
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
    )


async def token_request(
    ctx: ConnectorContext, settings: ShopifySettings, shop: str, payload: dict[str, Any], what: str
) -> dict[str, Any]:
    """Ask the shop's token endpoint for tokens (``expiring: 1``: an expiring offline token and a refresh token)."""

    async def send() -> httpx.Response:
        return await ctx.http.post(
            f"{settings.shop_root(shop)}/admin/oauth/access_token",
            json={
                "client_id": settings.client_id,
                "client_secret": settings.client_secret.get_secret_value(),
                **payload,
            },
            headers={"Accept": "application/json"},
        )

    return await call_with_retries(ctx, send, interpret_token_answer, None, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]


async def refresh_tokens(
    ctx: ConnectorContext, settings: ShopifySettings, shop: str, credentials: Credentials
) -> Credentials:
    """New tokens for the refresh token; Shopify replaces the refresh token every time it is used."""
    if not credentials.refresh_token:
        raise ReconnectRequired("the Shopify access token expired and there is no refresh token; connect the shop")
    body = await token_request(
        ctx,
        settings,
        shop,
        {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
        "Shopify token refresh",
    )
    return credentials_from(body, ctx.clock.now(), credentials.refresh_token)


def orders_search(window: DateRange, time_zone: str) -> str:
    """The orders search of a window: processed before it ends, touched (placed, refunded, cancelled) since it began."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(window.start, time.min, zone).astimezone(UTC)
    end = datetime.combine(window.end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return f"updated_at:>='{start:%Y-%m-%dT%H:%M:%SZ}' processed_at:<'{end:%Y-%m-%dT%H:%M:%SZ}'"


def earliest_recent_day(today: date) -> date:
    """The earliest shop-local day Shopify shows whole without ``read_all_orders``."""
    return today - timedelta(days=RECENT_ORDER_DAYS - 1)


class ShopifyConnector(ConnectorDefaults):
    """One Shopify shop (``account_id`` is its handle: ``demo-store`` for demo-store.myshopify.com)."""

    def __init__(self, ctx: ConnectorContext, settings: ShopifySettings, shop: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.shop = shop
        self.endpoint = f"{settings.shop_root(shop)}/admin/api/{settings.api_version}/graphql.json"
        self._scopes: frozenset[str] | None = None
        self._bucket: CostStatus | None = None

    async def refresh(self) -> None:
        """New tokens from the refresh token, stored before they are used (the spent one is dead)."""
        await self.ctx.renew(lambda credentials: refresh_tokens(self.ctx, self.settings, self.shop, credentials))

    async def _renew_if_ending(self) -> None:
        credentials = self.ctx.credentials
        ending = credentials.expires_at is not None and credentials.expires_at - self.ctx.clock.now() <= RENEW_AHEAD
        if credentials.refresh_token and ending:
            await self.refresh()

    async def _pace(self, cost: float) -> None:
        """Wait for the bucket to hold a query's points rather than be throttled (short waits only)."""
        if self._bucket is None:
            return
        wait = self._bucket.wait_for(cost)
        if 0 < wait <= self.ctx.policy.max_wait:
            await self.ctx.sleep(wait)

    async def query(self, text: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """One GraphQL query's ``data``, throttling and token expiry handled."""
        await self._renew_if_ending()
        if self._bucket is not None:
            await self._pace(self._bucket.requested)

        async def send() -> httpx.Response:
            return await self.ctx.http.post(
                self.endpoint,
                json={"query": text, "variables": variables},
                headers={"X-Shopify-Access-Token": self.ctx.credentials.access_token},
            )

        try:
            body = await call_with_retries(self.ctx, send, interpret, self.refresh, what=what, platform=PLATFORM_KEY)
        except TokenExpired as exc:
            raise ReconnectRequired(f"{exc}; connect the shop again") from exc
        self._bucket = cost_status(body)
        return body.get("data") or {}  # type: ignore[no-any-return]

    async def account_info(self) -> AccountInfo:
        shop = (await self.query(SHOP_QUERY, {}, "Shopify shop")).get("shop")
        if not shop:
            raise PlatformError(f"Shopify shop {self.shop} did not describe itself")
        return AccountInfo(self.shop, shop.get("name"), str(shop["currencyCode"]), str(shop["ianaTimezone"]))

    async def scopes(self) -> frozenset[str]:
        """The access scopes the shop granted this app."""
        if self._scopes is None:
            data = await self.query(SCOPES_QUERY, {}, "Shopify access scopes")
            granted = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
            self._scopes = frozenset(str(s.get("handle")) for s in granted)
        return self._scopes

    async def _require_history(self, window: DateRange, account: AccountInfo) -> None:
        today = self.ctx.clock.now().astimezone(ZoneInfo(account.time_zone)).date()
        earliest = earliest_recent_day(today)
        if window.start >= earliest or ALL_ORDERS_SCOPE in await self.scopes():
            return
        raise PlatformError(
            f"Shopify shows orders older than 60 days only with the {ALL_ORDERS_SCOPE} access scope, which "
            f"shop {self.shop} did not grant: {window.start} is before {earliest}. Request {ALL_ORDERS_SCOPE} "
            "for the app and connect the shop again"
        )

    async def _order_refunds(self, order_id: str) -> list[dict[str, Any]]:
        data = await self.query(ORDER_REFUNDS_QUERY, {"id": order_id}, "Shopify order refunds")
        return list((data.get("order") or {}).get("refunds") or [])

    async def orders(self, window: DateRange, account: AccountInfo) -> list[Order]:
        """Every order of the window's search, page by page."""
        search, after, found = orders_search(window, account.time_zone), None, []
        while True:
            variables = {"first": ORDERS_PAGE, "after": after, "query": search}
            page = (await self.query(ORDERS_QUERY, variables, "Shopify orders")).get("orders") or {}
            for node in page.get("nodes") or []:
                if len(node.get("refunds") or []) >= REFUNDS_PER_ORDER:
                    node = {**node, "refunds": await self._order_refunds(str(node["id"]))}
                found.append(parse_order(node, account.currency))
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return found
            after = info.get("endCursor")

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        await self._require_history(window, account)
        orders = await self.orders(window, account)
        return daily_sales(orders, window, account.time_zone, account.currency)
