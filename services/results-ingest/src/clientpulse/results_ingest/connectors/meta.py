"""Meta Ads (Marketing API Insights at campaign level, one row per campaign and day)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
)
from clientpulse.results_ingest.domain.money import to_minor_units
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import Platform
from clientpulse.results_ingest.domain.records import AccountInfo, CampaignDay, conversions_to_scaled
from clientpulse.results_ingest.domain.statuses import meta_status

INSIGHT_FIELDS = (
    "campaign_id,campaign_name,account_currency,spend,impressions,reach,frequency,clicks,ctr,"
    "actions,action_values,purchase_roas,date_start,date_stop"
)
# Purchases appear under several duplicate action types; count ONE, in this order of preference.
PURCHASE_ACTION_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
# Business-use-case and app throttles (platform-apis.md §1.1): wait and try again.
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80009)})


@dataclass(frozen=True, slots=True)
class MetaInsightRow:
    """One insights row before status and headline are joined in."""

    campaign_id: str
    campaign_name: str
    day: date
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int
    reach: int | None


def _action_value(actions: list[dict[str, Any]] | None) -> str | None:
    by_type = {a.get("action_type"): a.get("value") for a in actions or []}
    for action_type in PURCHASE_ACTION_TYPES:
        if by_type.get(action_type) is not None:
            return str(by_type[action_type])
    return None


def parse_insights_page(
    body: dict[str, Any], fallback_currency: str | None = None
) -> tuple[list[MetaInsightRow], str | None]:
    """Rows of one insights page and the URL of the next page (``None`` on the last)."""
    rows = []
    for item in body.get("data", []):
        currency = item.get("account_currency") or fallback_currency
        if not currency:
            raise PlatformError("Meta insights row without account_currency; ask for the field")
        conversions = _action_value(item.get("actions")) or "0"
        value = _action_value(item.get("action_values")) or "0"
        reach = item.get("reach")
        rows.append(
            MetaInsightRow(
                campaign_id=str(item["campaign_id"]),
                campaign_name=str(item.get("campaign_name") or item["campaign_id"]),
                day=date.fromisoformat(item["date_start"]),
                currency=currency,
                spend_minor=to_minor_units(item.get("spend") or "0", currency),
                impressions=int(item.get("impressions") or 0),
                clicks=int(item.get("clicks") or 0),
                conversions_e4=conversions_to_scaled(conversions),
                conversion_value_minor=to_minor_units(value, currency),
                reach=int(reach) if reach not in (None, "") else None,
            )
        )
    return rows, body.get("paging", {}).get("next")


def parse_campaign_statuses(body: dict[str, Any]) -> dict[str, str]:
    """campaign id → ``effective_status`` from a ``/campaigns`` page."""
    return {str(c["id"]): str(c.get("effective_status") or c.get("status") or "") for c in body.get("data", [])}


def headline_of(creative: dict[str, Any]) -> str | None:
    """An ad's headline: the link's name, else the first asset-feed title, else the video title.

    The top-level ``title`` only mirrors ``link_data.name`` by observation, so it is the last resort.
    """
    story = creative.get("object_story_spec") or {}
    for source in (story.get("link_data") or {}, story.get("video_data") or {}):
        name = source.get("name") or source.get("title")
        if name:
            return str(name)
    titles = (creative.get("asset_feed_spec") or {}).get("titles") or []
    if titles and titles[0].get("text"):
        return str(titles[0]["text"])
    return str(creative["title"]) if creative.get("title") else None


def parse_ad_headlines(body: dict[str, Any]) -> dict[str, str]:
    """campaign id → headline of its first ad (in the API's order) that has one."""
    headlines: dict[str, str] = {}
    for ad in body.get("data", []):
        campaign_id = str(ad.get("campaign_id", ""))
        headline = headline_of(ad.get("creative") or {})
        if campaign_id and headline and campaign_id not in headlines:
            headlines[campaign_id] = headline
    return headlines


def _regain_seconds(response: httpx.Response) -> float | None:
    """``estimated_time_to_regain_access`` (minutes) from the business-use-case header, in seconds."""
    raw = response.headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = max(int(e.get("estimated_time_to_regain_access", 0)) for v in usage.values() for e in v)
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60.0 if minutes > 0 else None


def interpret(response: httpx.Response) -> dict[str, Any]:
    """A Graph API answer as its body, or the error it means."""
    if response.status_code == 429:
        raise Throttled("Meta answered 429", retry_after_seconds(response))
    if response.status_code >= 500:
        raise Transient(f"Meta answered {response.status_code}")
    body = json_body(response, "Meta")
    error = body.get("error") if isinstance(body, dict) else None
    if error:
        code, message = error.get("code"), str(error.get("message", "unknown error"))
        if code == 190:
            raise TokenExpired(message)
        if code in THROTTLE_CODES:
            raise Throttled(message, _regain_seconds(response), signal=f"meta_{code}")
        if error.get("is_transient"):
            raise Transient(message)
        raise PlatformError(message)
    if response.status_code >= 400 or not isinstance(body, dict):
        raise PlatformError(f"Meta answered {response.status_code}")
    return body


class MetaConnector:
    """One Meta ad account (``act_<id>``)."""

    platform = Platform.META_ADS

    def __init__(self, ctx: ConnectorContext, *, base_url: str, api_version: str, account_id: str) -> None:
        self.ctx = ctx
        self.root = f"{base_url.rstrip('/')}/{api_version}"
        self.account_id = account_id.removeprefix("act_")

    async def _get(self, url: str, params: dict[str, str] | None, what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            # The token travels in a header, not the query string, so it never lands in a URL or a log line.
            headers = {"Authorization": f"Bearer {self.ctx.credentials.access_token}"}
            return await self.ctx.http.get(url, params=params, headers=headers)

        try:
            return await call_with_retries(self.ctx, send, interpret, None, what=what, platform=self.platform)  # type: ignore[no-any-return]
        except TokenExpired as exc:
            # Meta user tokens are exchanged while valid, never refreshed after expiry.
            raise ReconnectRequired(str(exc)) from exc

    async def _all_pages(self, url: str, params: dict[str, str], what: str) -> list[dict[str, Any]]:
        pages = [await self._get(url, params, what)]
        while (following := pages[-1].get("paging", {}).get("next")) is not None:
            pages.append(await self._get(following, None, what))
        return pages

    async def account_info(self) -> AccountInfo:
        body = await self._get(
            f"{self.root}/act_{self.account_id}", {"fields": "name,currency,timezone_name"}, "Meta account"
        )
        return AccountInfo(self.account_id, body.get("name"), str(body["currency"]), str(body["timezone_name"]))

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        params = {
            "level": "campaign",
            "time_increment": "1",
            "time_range": json.dumps({"since": window.start.isoformat(), "until": window.end.isoformat()}),
            "fields": INSIGHT_FIELDS,
            "limit": "500",
        }
        rows: list[MetaInsightRow] = []
        for page in await self._all_pages(f"{self.root}/act_{self.account_id}/insights", params, "Meta insights"):
            rows.extend(parse_insights_page(page, account.currency)[0])
        statuses: dict[str, str] = {}
        for page in await self._all_pages(
            f"{self.root}/act_{self.account_id}/campaigns",
            {
                "fields": "id,name,effective_status",
                "limit": "500",
                "effective_status": json.dumps(
                    ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED", "IN_PROCESS", "WITH_ISSUES"]
                ),
            },
            "Meta campaigns",
        ):
            statuses.update(parse_campaign_statuses(page))
        headlines: dict[str, str] = {}
        for page in await self._all_pages(
            f"{self.root}/act_{self.account_id}/ads",
            {
                "fields": "id,campaign_id,effective_status,creative{id,title,object_story_spec,asset_feed_spec}",
                "limit": "500",
            },
            "Meta ads",
        ):
            for campaign_id, headline in parse_ad_headlines(page).items():
                headlines.setdefault(campaign_id, headline)
        return [
            CampaignDay(
                campaign_id=r.campaign_id,
                day=r.day,
                campaign_name=r.campaign_name,
                status=meta_status(statuses.get(r.campaign_id)),
                status_raw=statuses.get(r.campaign_id),
                currency=r.currency,
                spend_minor=r.spend_minor,
                impressions=r.impressions,
                clicks=r.clicks,
                conversions_e4=r.conversions_e4,
                conversion_value_minor=r.conversion_value_minor,
                reach_daily=r.reach,
                creative_title=headlines.get(r.campaign_id),
            )
            for r in rows
        ]

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        params = {
            "level": "campaign",
            "time_increment": "all_days",
            "time_range": json.dumps({"since": window.start.isoformat(), "until": window.end.isoformat()}),
            "fields": "campaign_id,reach,impressions,date_start,date_stop",
            "limit": "500",
        }
        reach: dict[str, tuple[int, int]] = {}
        for page in await self._all_pages(f"{self.root}/act_{self.account_id}/insights", params, "Meta reach"):
            for item in page.get("data", []):
                if item.get("reach") not in (None, ""):
                    reach[str(item["campaign_id"])] = (int(item["reach"]), int(item.get("impressions") or 0))
        return reach
