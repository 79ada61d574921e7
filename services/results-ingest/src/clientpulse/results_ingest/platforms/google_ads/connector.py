"""Google Ads (GAQL over REST: ``googleAds:searchStream`` for reports, ``:search`` pages for lookups).

A client account reached through the agency's manager account (the usual case) needs the
manager's id in the ``login-customer-id`` header of every request: it is the connection's
``login_customer_id`` option, found by listing the accounts the credentials reach.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    Credentials,
    Misconfigured,
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
from clientpulse.results_ingest.domain.records import (
    AccountChoice,
    AccountInfo,
    AdCreativeDay,
    CampaignDay,
    conversions_to_scaled,
    distinct_texts,
)
from clientpulse.results_ingest.platforms.google_ads.statuses import google_status
from clientpulse.shared.money import micros_to_minor_units, to_minor_units

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.google_ads import GoogleAdsSettings

PLATFORM_KEY = "google_ads"

CAMPAIGN_QUERY = (
    "SELECT customer.currency_code, customer.time_zone, campaign.id, campaign.name, campaign.status, segments.date, "
    "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value "
    "FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}' ORDER BY segments.date, campaign.id"
)
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer"
)
# The accounts a manager holds (level 0 is the manager itself).
CLIENTS_QUERY = (
    "SELECT customer_client.id, customer_client.descriptive_name, customer_client.manager, "
    "customer_client.level, customer_client.currency_code, customer_client.time_zone, customer_client.status "
    "FROM customer_client WHERE customer_client.level <= 1"
)
# Unique users per campaign over a window: the platform's own reach (Display, Video, Demand Gen and
# App campaigns report it; it cannot be added over days and is limited to 92-day ranges).
REACH_QUERY = (
    "SELECT campaign.id, metrics.unique_users, metrics.impressions FROM campaign "
    "WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
REACH_MAX_DAYS = 92
# Each ad's day with its copy: a responsive search ad's headlines and descriptions (AdTextAsset ``text``).
AD_QUERY = (
    "SELECT customer.currency_code, campaign.id, ad_group_ad.ad.id, ad_group_ad.ad.name, "
    "ad_group_ad.ad.responsive_search_ad.headlines, ad_group_ad.ad.responsive_search_ad.descriptions, "
    "segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, "
    "metrics.conversions_value FROM ad_group_ad WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
THROTTLE_STATUSES = frozenset({"RESOURCE_EXHAUSTED"})
# Refusals of our own developer token: the settings need fixing, not the connection.
OUR_CONFIGURATION_ERRORS = frozenset(
    {"DEVELOPER_TOKEN_NOT_APPROVED", "DEVELOPER_TOKEN_PROHIBITED", "DEVELOPER_TOKEN_INVALID"}
)


def parse_row(row: dict[str, Any]) -> CampaignDay:
    """One GAQL result row (REST JSON: lowerCamelCase, int64 as strings, doubles as numbers)."""
    customer, campaign, metrics = row.get("customer", {}), row["campaign"], row.get("metrics", {})
    currency = customer.get("currencyCode")
    if not currency:
        raise PlatformError("Google Ads row without customer.currency_code; select it in the query")
    raw_status = campaign.get("status")
    return CampaignDay(
        campaign_id=str(campaign["id"]),
        day=date.fromisoformat(row["segments"]["date"]),
        campaign_name=str(campaign.get("name") or campaign["id"]),
        status=google_status(raw_status),
        status_raw=raw_status,
        currency=currency,
        spend_minor=micros_to_minor_units(metrics.get("costMicros", "0"), currency),
        impressions=int(metrics.get("impressions", 0)),
        clicks=int(metrics.get("clicks", 0)),
        conversions_e4=conversions_to_scaled(repr(float(metrics.get("conversions", 0.0)))),
        conversion_value_minor=to_minor_units(repr(float(metrics.get("conversionsValue", 0.0))), currency),
        reach_daily=None,  # campaign-level reach is not in this report
    )


def parse_ad_row(row: dict[str, Any], currency: str) -> AdCreativeDay:
    """One ``FROM ad_group_ad`` row: the ad, its responsive search copy and its day's metrics."""
    ad = (row.get("adGroupAd") or {}).get("ad") or {}
    search_ad = ad.get("responsiveSearchAd") or {}
    metrics = row.get("metrics", {})
    currency = (row.get("customer") or {}).get("currencyCode") or currency
    return AdCreativeDay(
        ad_id=str(ad["id"]),
        campaign_id=str((row.get("campaign") or {}).get("id", "")),
        day=date.fromisoformat(row["segments"]["date"]),
        ad_name=ad.get("name"),
        headlines=distinct_texts(*((h or {}).get("text") for h in search_ad.get("headlines") or [])),
        bodies=distinct_texts(*((d or {}).get("text") for d in search_ad.get("descriptions") or [])),
        currency=currency,
        spend_minor=micros_to_minor_units(metrics.get("costMicros", "0"), currency),
        impressions=int(metrics.get("impressions", 0)),
        clicks=int(metrics.get("clicks", 0)),
        conversions_e4=conversions_to_scaled(repr(float(metrics.get("conversions", 0.0)))),
        conversion_value_minor=to_minor_units(repr(float(metrics.get("conversionsValue", 0.0))), currency),
    )


def parse_search_stream(body: list[dict[str, Any]]) -> list[CampaignDay]:
    """Every row of a ``searchStream`` answer (a JSON array of result batches)."""
    return [parse_row(row) for batch in body for row in batch.get("results", [])]


def parse_search_page(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The raw rows of one ``search`` page and its ``nextPageToken``."""
    return list(body.get("results", [])), body.get("nextPageToken") or None


def _retry_delay(error: dict[str, Any]) -> float | None:
    for detail in error.get("details", []):
        for item in detail.get("errors", []):
            delay = item.get("details", {}).get("quotaErrorDetails", {}).get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return float(delay[:-1])
                except ValueError:
                    return None
    return None


def interpret(response: httpx.Response) -> Any:
    """A Google Ads answer as its body, or the error it means (errors come as an object or an array)."""
    if response.status_code >= 500:
        raise Transient(f"Google Ads answered {response.status_code}")
    body = json_body(response, "Google Ads")
    envelope = body[0] if isinstance(body, list) and body and "error" in body[0] else body
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if response.status_code == 429 or (error and error.get("status") in THROTTLE_STATUSES):
        wait = retry_after_seconds(response)
        message = str((error or {}).get("message", "Google Ads answered 429"))
        status = (error or {}).get("status")
        signal = f"google_{status.lower()}" if status in THROTTLE_STATUSES else "http_429"
        raise Throttled(message, wait if wait is not None else _retry_delay(error or {}), signal=signal)
    if error or response.status_code >= 400:
        message = str((error or {}).get("message", f"Google Ads answered {response.status_code}"))
        details = failure_details(error or {})
        if details:
            # The GoogleAdsFailure says what is wrong (e.g. that login-customer-id is missing).
            message = f"{message}: " + "; ".join(text for _, text in details)
        if any(code in OUR_CONFIGURATION_ERRORS for code, _ in details):
            raise Misconfigured(message)
        if response.status_code == 401 or (error or {}).get("status") == "UNAUTHENTICATED":
            raise TokenExpired(message)
        raise PlatformError(message)
    return body


def failure_details(error: dict[str, Any]) -> list[tuple[str, str]]:
    """(error code, message) of each error in a ``GoogleAdsFailure`` detail of an error answer."""
    found = []
    for detail in error.get("details", []) if isinstance(error.get("details"), list) else []:
        for item in detail.get("errors", []) if isinstance(detail, dict) else []:
            codes = item.get("errorCode") or {}
            code = next(iter(codes.values()), "") if isinstance(codes, dict) and codes else ""
            if item.get("message"):
                found.append((str(code), str(item["message"])))
    return found


def interpret_token_answer(response: httpx.Response) -> dict[str, Any]:
    """Google's token endpoint body, or what its refusal means (RFC 6749 error codes)."""
    body = None
    if response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            body = None
    if response.status_code >= 400 or not isinstance(body, dict) or "access_token" not in body:
        raise token_endpoint_error("Google", response, body if isinstance(body, dict) else None)
    return body


class GoogleAdsConnector(ConnectorDefaults):
    """One Google Ads customer, reached directly or through a manager (``login_customer_id``)."""

    def __init__(
        self, ctx: ConnectorContext, settings: GoogleAdsSettings, customer_id: str, login_customer_id: str | None
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.customer_id = customer_id.replace("-", "")
        self.root = f"{settings.base_url.rstrip('/')}/{settings.api_version}"
        self.login_customer_id = (login_customer_id or settings.login_customer_id or "").replace("-", "") or None

    def _headers(self, login_customer_id: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.ctx.credentials.access_token}",
            "developer-token": self.settings.developer_token.get_secret_value(),
        }
        if login_customer_id:
            headers["login-customer-id"] = login_customer_id
        return headers

    async def refresh(self) -> None:
        """A new access token from the refresh token (Google does not rotate refresh tokens)."""
        await self.ctx.renew(lambda credentials: refresh_access_token(self.ctx, self.settings, credentials))

    async def _call(
        self, method: str, url: str, payload: dict[str, Any] | None, what: str, login_customer_id: str | None
    ) -> Any:
        async def send() -> httpx.Response:
            headers = self._headers(login_customer_id)
            if method == "GET":
                return await self.ctx.http.get(url, headers=headers)
            return await self.ctx.http.post(url, json=payload, headers=headers)

        refresh: Callable[[], Awaitable[None]] = self.refresh
        try:
            return await call_with_retries(self.ctx, send, interpret, refresh, what=what, platform=PLATFORM_KEY)
        except TokenExpired as exc:
            raise ReconnectRequired(str(exc)) from exc

    async def _post(self, method: str, payload: dict[str, Any], what: str, customer_id: str | None = None) -> Any:
        customer = customer_id or self.customer_id
        url = f"{self.root}/customers/{customer}/googleAds:{method}"
        # A manager reading its own account logs in as itself.
        login = self.login_customer_id if customer_id is None else customer_id
        return await self._call("POST", url, payload, what, login)

    async def search(self, query: str, customer_id: str | None = None) -> list[dict[str, Any]]:
        """Every row of a query through ``:search``, page by page (the query repeats unchanged)."""
        body = await self._post("search", {"query": query}, "Google Ads search", customer_id)
        rows, token = parse_search_page(body)
        while token:
            body = await self._post("search", {"query": query, "pageToken": token}, "Google Ads search", customer_id)
            page, token = parse_search_page(body)
            rows.extend(page)
        return rows

    async def account_info(self) -> AccountInfo:
        rows = await self.search(CUSTOMER_QUERY)
        if not rows:
            raise PlatformError(f"Google Ads customer {self.customer_id} returned no customer row")
        customer = rows[0]["customer"]
        return AccountInfo(
            self.customer_id, customer.get("descriptiveName"), customer["currencyCode"], customer["timeZone"]
        )

    async def accessible_accounts(self) -> list[AccountChoice]:
        """The accounts the credentials reach directly, and the client accounts of each manager among them."""
        body = await self._call(
            "GET", f"{self.root}/customers:listAccessibleCustomers", None, "Google Ads accounts", None
        )
        direct = [str(name).rsplit("/", 1)[-1] for name in (body or {}).get("resourceNames", [])]
        choices: dict[str, AccountChoice] = {}
        for customer_id in direct:
            for row in await self.search(CLIENTS_QUERY, customer_id=customer_id):
                client = row.get("customerClient") or {}
                account_id = str(client.get("id", ""))
                if not account_id or (account_id in choices and account_id != customer_id):
                    continue
                is_self = account_id == customer_id
                choices[account_id] = AccountChoice(
                    account_id=account_id,
                    name=client.get("descriptiveName"),
                    currency=client.get("currencyCode"),
                    time_zone=client.get("timeZone"),
                    manager=bool(client.get("manager")),
                    options={} if is_self else {"login_customer_id": customer_id},
                )
        return list(choices.values())

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        query = CAMPAIGN_QUERY.format(start=window.start.isoformat(), end=window.end.isoformat())
        body = await self._post("searchStream", {"query": query}, "Google Ads searchStream")
        if not isinstance(body, list):
            raise Transient("Google Ads searchStream answered with an object, not an array of batches")
        return parse_search_stream(body)

    async def ad_creatives(self, window: DateRange, account: AccountInfo) -> list[AdCreativeDay]:
        """Each ad's days with its responsive search headlines and descriptions (``FROM ad_group_ad``)."""
        query = AD_QUERY.format(start=window.start.isoformat(), end=window.end.isoformat())
        body = await self._post("searchStream", {"query": query}, "Google Ads ads")
        if not isinstance(body, list):
            raise Transient("Google Ads searchStream answered with an object, not an array of batches")
        return [parse_ad_row(row, account.currency) for batch in body for row in batch.get("results", [])]

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        if window.days > REACH_MAX_DAYS:
            return {}
        query = REACH_QUERY.format(start=window.start.isoformat(), end=window.end.isoformat())
        body = await self._post("searchStream", {"query": query}, "Google Ads reach")
        return parse_reach(body if isinstance(body, list) else [])


def parse_reach(body: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """campaign id → (unique users, impressions) where the campaign reports unique users."""
    reach: dict[str, tuple[int, int]] = {}
    for batch in body:
        for row in batch.get("results", []):
            metrics = row.get("metrics", {})
            users = int(metrics.get("uniqueUsers") or 0)
            if users > 0:
                reach[str(row["campaign"]["id"])] = (users, int(metrics.get("impressions") or 0))
    return reach


async def refresh_access_token(
    ctx: ConnectorContext, settings: GoogleAdsSettings, credentials: Credentials
) -> Credentials:
    """A new access token for a refresh token (the refresh token itself stays)."""
    if not credentials.refresh_token:
        raise ReconnectRequired("the Google Ads access token expired and there is no refresh token")

    async def send() -> httpx.Response:
        return await ctx.http.post(
            settings.token_url,
            data={
                "client_id": settings.client_id,
                "client_secret": settings.client_secret.get_secret_value(),
                "refresh_token": credentials.refresh_token or "",
                "grant_type": "refresh_token",
            },
        )

    body = await call_with_retries(
        ctx, send, interpret_token_answer, None, what="Google token refresh", platform=PLATFORM_KEY
    )
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or credentials.refresh_token,
        expires_at=ctx.clock.now() + timedelta(seconds=int(body.get("expires_in", 3599))),
    )
