"""Klaviyo (REST API with a private key; Reporting API for campaign and flow performance).

Per window the connector asks two reports: one campaign-values report (per campaign over the window;
Klaviyo has no campaign series) and one daily flow-series report, both for email only and grouped by
campaign or flow. The Reporting endpoints allow 1 request a second, 2 a minute and 225 a day per
account, so nothing is asked per campaign or per day. Klaviyo reads a report's timeframe in the
account's time zone (the offset sent is ignored) and includes both ends, so a window is asked as its
first day's midnight to its last day's 23:59:59.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    PlatformError,
    ReconnectRequired,
    Throttled,
    Transient,
    call_with_retries,
    retry_after_seconds,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.domain.windows import slices
from clientpulse.results_ingest.platforms.klaviyo.reports import (
    CONVERSION_METRIC_NAME,
    STATISTICS,
    CampaignFacts,
    EmailPart,
    email_metric_days,
    parse_campaign_values,
    parse_campaigns,
    parse_flow_series,
    pick_conversion_metric,
    place_campaigns,
)

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.klaviyo import KlaviyoSettings

PLATFORM_KEY = "klaviyo"
JSON_API = "application/vnd.api+json"
# A daily series covers at most 60 days (Klaviyo's Reporting API); a values report at most a year.
MAX_DAILY_SERIES_DAYS = 60
# Campaigns looked up by id per request (the ``any(id, …)`` filter takes a bounded list).
CAMPAIGN_IDS_PER_REQUEST = 50
EMAIL_ONLY = 'equals(send_channel,"email")'


def decoded(response: httpx.Response) -> Any:
    """A Klaviyo body with its numbers as exact decimals (money is a JSON number), or ``Transient``."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise Transient(f"Klaviyo sent a body that is not JSON ({len(response.content)} bytes)") from exc


def error_detail(response: httpx.Response) -> str:
    """Klaviyo's own words for a refusal: the ``detail`` of each JSON:API error."""
    try:
        errors = json.loads(response.content).get("errors") or []
        details = [str(e.get("detail") or e.get("title") or e.get("code")) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        details = []
    return "; ".join(details) or f"answered {response.status_code}"


def interpret(response: httpx.Response) -> Any:
    """A Klaviyo answer as its body, or what its refusal means.

    429 is a throttle with ``Retry-After`` (a daily-limit wait can be many hours: it leaves as
    ``MustWait``); 401 (invalid or revoked key) and 403 (a key without the scope) need a person to
    paste a new key; another 4xx is a refusal for good.
    """
    status = response.status_code
    if status == 429:
        raise Throttled(f"Klaviyo 429: {error_detail(response)}", retry_after_seconds(response))
    if status >= 500:
        raise Transient(f"Klaviyo answered {status}")
    if status in (401, 403):
        raise ReconnectRequired(f"Klaviyo {status}: {error_detail(response)}")
    if status >= 400:
        raise PlatformError(f"Klaviyo {status}: {error_detail(response)}")
    body = decoded(response)
    if not isinstance(body, dict):
        raise Transient("Klaviyo answered without a JSON object")
    return body


def timeframe(window: DateRange) -> dict[str, str]:
    """A window as a report timeframe: whole account-local days (Klaviyo ignores the offset)."""
    return {
        "start": f"{window.start.isoformat()}T00:00:00+00:00",
        "end": f"{window.end.isoformat()}T23:59:59+00:00",
    }


def report_body(kind: str, window: DateRange, metric_id: str, group_by: list[str], **extra: str) -> dict[str, Any]:
    """The JSON:API body of a values or series report of email sends, counts only."""
    attributes: dict[str, Any] = {
        "statistics": list(STATISTICS),
        "timeframe": timeframe(window),
        "conversion_metric_id": metric_id,
        "group_by": group_by,
        "filter": EMAIL_ONLY,
        **extra,
    }
    return {"data": {"type": kind, "attributes": attributes}}


class KlaviyoConnector(ConnectorDefaults):
    """One Klaviyo account, read with its private API key."""

    def __init__(
        self, ctx: ConnectorContext, settings: KlaviyoSettings, account_id: str, options: Mapping[str, str]
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.root = f"{settings.base_url.rstrip('/')}/api"
        self.account_id = account_id
        self.conversion_metric_id = options.get("conversion_metric_id") or None

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {self.ctx.credentials.access_token}",
            "revision": self.settings.revision,
            "Accept": JSON_API,
        }

    async def _call(self, send: Callable[[], Awaitable[httpx.Response]], what: str) -> dict[str, Any]:
        return await call_with_retries(self.ctx, send, interpret, None, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]

    async def _get(self, url: str, params: Mapping[str, str] | None, what: str) -> dict[str, Any]:
        return await self._call(lambda: self.ctx.http.get(url, params=params, headers=self._headers()), what)

    async def _pages(self, url: str, params: Mapping[str, str], what: str) -> list[dict[str, Any]]:
        """Every page of a listing, following ``links.next`` (which carries the query itself)."""
        pages = [await self._get(url, params, what)]
        while next_url := (pages[-1].get("links") or {}).get("next"):
            pages.append(await self._get(str(next_url), None, what))
        return pages

    async def _report(self, path: str, body: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """A report's pages (a further page is asked for only when Klaviyo links one)."""
        headers = {**self._headers(), "Content-Type": JSON_API}

        def post(url: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: self.ctx.http.post(url, json=body, headers=headers)

        pages = [await self._call(post(f"{self.root}/{path}/"), what)]
        while next_url := (pages[-1].get("links") or {}).get("next"):
            pages.append(await self._call(post(str(next_url)), what))
        return pages

    async def account_info(self) -> AccountInfo:
        body = await self._get(f"{self.root}/accounts/", None, "Klaviyo account")
        accounts = body.get("data") or []
        if not accounts:
            raise PlatformError("Klaviyo lists no account for this key")
        account = accounts[0]
        if str(account.get("id")) != self.account_id:
            raise PlatformError(
                f"this private key belongs to Klaviyo account {account.get('id')}, not {self.account_id}; "
                "paste a key created in the connected account"
            )
        attributes = account.get("attributes") or {}
        currency, time_zone = attributes.get("preferred_currency"), attributes.get("timezone")
        if not currency or not time_zone:
            raise PlatformError(f"Klaviyo account {self.account_id} names no preferred currency or time zone")
        contact = attributes.get("contact_information") or {}
        return AccountInfo(self.account_id, contact.get("organization_name"), str(currency), str(time_zone))

    async def _conversion_metric(self) -> str:
        """The metric conversions are counted with: the connection's option, else "Placed Order"."""
        if self.conversion_metric_id is None:
            fields = {"fields[metric]": "name,integration"}
            pages = await self._pages(f"{self.root}/metrics/", fields, "Klaviyo metrics")
            found = pick_conversion_metric(m for page in pages for m in page.get("data") or [])
            if found is None:
                raise PlatformError(
                    f'Klaviyo account {self.account_id} has no "{CONVERSION_METRIC_NAME}" metric; set the '
                    "connection option conversion_metric_id to the metric that counts its orders"
                )
            self.conversion_metric_id = found
        return self.conversion_metric_id

    async def _campaign_facts(self, campaign_ids: list[str]) -> dict[str, CampaignFacts]:
        """Name and send time of the campaigns a report named, looked up by id."""
        facts: dict[str, CampaignFacts] = {}
        for start in range(0, len(campaign_ids), CAMPAIGN_IDS_PER_REQUEST):
            chunk = ",".join(f'"{c}"' for c in campaign_ids[start : start + CAMPAIGN_IDS_PER_REQUEST])
            params = {
                "filter": f"and(equals(messages.channel,'email'),any(id,[{chunk}]))",
                "fields[campaign]": "name,send_time",
            }
            for page in await self._pages(f"{self.root}/campaigns/", params, "Klaviyo campaigns"):
                facts.update(parse_campaigns(page)[0])
        return facts

    async def _parts(self, window: DateRange, account: AccountInfo, metric_id: str) -> list[EmailPart]:
        campaign_pages = await self._report(
            "campaign-values-reports",
            report_body("campaign-values-report", window, metric_id, ["campaign_id", "campaign_message_id"]),
            "Klaviyo campaign values report",
        )
        flow_pages = await self._report(
            "flow-series-reports",
            report_body(
                "flow-series-report", window, metric_id, ["flow_id", "flow_message_id", "flow_name"], interval="daily"
            ),
            "Klaviyo flow series report",
        )
        values = parse_campaign_values(campaign_pages)
        facts = await self._campaign_facts(sorted(values)) if values else {}
        return [*place_campaigns(values, facts, account.time_zone, window), *parse_flow_series(flow_pages, window)]

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        metric_id = await self._conversion_metric()
        parts: list[EmailPart] = []
        for part in slices(window, MAX_DAILY_SERIES_DAYS):
            parts.extend(await self._parts(part, account, metric_id))
        return email_metric_days(window, parts, account.currency)
