"""Google Ads (GAQL over REST: ``googleAds:searchStream`` for reports, ``:search`` pages for lookups)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    Credentials,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
)
from clientpulse.results_ingest.domain.money import micros_to_minor_units, to_minor_units
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import Platform
from clientpulse.results_ingest.domain.records import AccountInfo, CampaignDay, conversions_to_scaled
from clientpulse.results_ingest.domain.statuses import google_status

CAMPAIGN_QUERY = (
    "SELECT customer.currency_code, customer.time_zone, campaign.id, campaign.name, campaign.status, segments.date, "
    "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value "
    "FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}' ORDER BY segments.date, campaign.id"
)
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer"
)
THROTTLE_STATUSES = frozenset({"RESOURCE_EXHAUSTED"})


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
        if response.status_code == 401 or (error or {}).get("status") == "UNAUTHENTICATED":
            raise TokenExpired(message)
        raise PlatformError(message)
    return body


def _oauth_interpret(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise Transient(f"Google OAuth answered {response.status_code}")
    body = json_body(response, "Google OAuth")
    if response.status_code >= 400 or "access_token" not in body:
        raise ReconnectRequired(str(body.get("error_description") or body.get("error") or "refresh refused"))
    return body  # type: ignore[no-any-return]


class GoogleAdsConnector:
    """One Google Ads customer."""

    platform = Platform.GOOGLE_ADS

    def __init__(
        self,
        ctx: ConnectorContext,
        *,
        base_url: str,
        api_version: str,
        customer_id: str,
        developer_token: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        login_customer_id: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.customer_id = customer_id.replace("-", "")
        self.url = f"{base_url.rstrip('/')}/{api_version}/customers/{self.customer_id}/googleAds"
        self.developer_token = developer_token
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.login_customer_id = login_customer_id

    def _headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.ctx.credentials.access_token}",
            "developer-token": self.developer_token,
        }
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        return headers

    async def refresh(self) -> None:
        """A new access token from the refresh token (Google does not rotate refresh tokens)."""
        await self.ctx.renew(self._renew)

    async def _renew(self, credentials: Credentials) -> Credentials:
        if not credentials.refresh_token:
            raise ReconnectRequired("the Google Ads access token expired and there is no refresh token")

        async def send() -> httpx.Response:
            return await self.ctx.http.post(
                self.token_url,
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": credentials.refresh_token or "",
                    "grant_type": "refresh_token",
                },
            )

        body = await call_with_retries(
            self.ctx, send, _oauth_interpret, None, what="Google token refresh", platform=self.platform
        )
        renewed = Credentials(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token") or credentials.refresh_token,
            expires_at=datetime.now(UTC) + timedelta(seconds=int(body.get("expires_in", 3599))),
        )
        return renewed

    async def _post(self, method: str, payload: dict[str, Any], what: str) -> Any:
        async def send() -> httpx.Response:
            return await self.ctx.http.post(f"{self.url}:{method}", json=payload, headers=self._headers())

        refresh: Callable[[], Awaitable[None]] = self.refresh
        try:
            return await call_with_retries(self.ctx, send, interpret, refresh, what=what, platform=self.platform)
        except TokenExpired as exc:
            raise ReconnectRequired(str(exc)) from exc

    async def search(self, query: str) -> list[dict[str, Any]]:
        """Every row of a query through ``:search``, page by page (the query repeats unchanged)."""
        rows, token = parse_search_page(await self._post("search", {"query": query}, "Google Ads search"))
        while token:
            page, token = parse_search_page(
                await self._post("search", {"query": query, "pageToken": token}, "Google Ads search")
            )
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

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        query = CAMPAIGN_QUERY.format(start=window.start.isoformat(), end=window.end.isoformat())
        body = await self._post("searchStream", {"query": query}, "Google Ads searchStream")
        if not isinstance(body, list):
            raise Transient("Google Ads searchStream answered with an object, not an array of batches")
        return parse_search_stream(body)

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        # Campaign reach needs Google's unique-users metrics, which are not generally available.
        return {}
