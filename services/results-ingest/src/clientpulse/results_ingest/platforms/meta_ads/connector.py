"""Meta Ads (Marketing API Insights at campaign level, one row per campaign and day).

Throttling (the Marketing API's rate-limiting documentation): an ad account's business-use-case
limit answers codes 17, 613 or 80000–80014 and names ``estimated_time_to_regain_access`` (minutes)
in ``x-business-use-case-usage``; the application-wide limit answers code 4 and shows in
``x-app-usage`` and, on insights, ``x-fb-ads-insights-throttle`` (``app_id_util_pct``). Either
pauses every worker through the shared pauses: an account's limit that account, the app's limit
every Meta call. A wait longer than one request may sleep leaves as ``MustWait``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    MustWait,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
    wait_until_seconds,
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
from clientpulse.results_ingest.platforms.meta_ads.statuses import meta_status
from clientpulse.shared.money import to_minor_units

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.meta_ads import MetaAdsSettings

PLATFORM_KEY = "meta_ads"

INSIGHT_FIELDS = (
    "campaign_id,campaign_name,account_currency,spend,impressions,reach,frequency,clicks,ctr,"
    "actions,action_values,purchase_roas,date_start,date_stop"
)
# Ad-level insights (one row per ad and day) and the ads' creatives with their copy.
AD_INSIGHT_FIELDS = (
    "ad_id,ad_name,campaign_id,account_currency,spend,impressions,clicks,actions,action_values,date_start,date_stop"
)
AD_COPY_FIELDS = "id,name,campaign_id,creative{id,title,body,object_story_spec,asset_feed_spec}"
# Purchases appear under several duplicate action types; count ONE, in this order of preference.
PURCHASE_ACTION_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
# Business-use-case (account) throttles: wait for the account, then try again.
ACCOUNT_THROTTLE_CODES = frozenset({17, 32, 613, *range(80000, 80015)})
# The application-wide limit: every Meta call of the app waits.
APP_THROTTLE_CODES = frozenset({4})
APP_SCOPE = f"{PLATFORM_KEY}.app"


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


def copy_of(creative: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An ad's (headlines, primary texts): the link's or video's name and message, the asset feed's
    titles and bodies, and the creative's own ``title`` and ``body``, each once."""
    story = creative.get("object_story_spec") or {}
    link, video = story.get("link_data") or {}, story.get("video_data") or {}
    feed = creative.get("asset_feed_spec") or {}
    headlines = distinct_texts(
        link.get("name"),
        video.get("title"),
        *((t or {}).get("text") for t in feed.get("titles") or []),
        creative.get("title"),
    )
    bodies = distinct_texts(
        link.get("message"),
        video.get("message"),
        *((b or {}).get("text") for b in feed.get("bodies") or []),
        creative.get("body"),
    )
    return headlines, bodies


def parse_ad_copy(body: dict[str, Any]) -> dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]]:
    """ad id → (name, headlines, primary texts) from an ``/ads`` page."""
    return {
        str(ad["id"]): (ad.get("name"), *copy_of(ad.get("creative") or {}))
        for ad in body.get("data", [])
        if ad.get("id")
    }


def parse_ad_insights_page(
    body: dict[str, Any], copy: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]], currency: str
) -> list[AdCreativeDay]:
    """The ad-day rows of one ``level=ad`` insights page, with each ad's copy joined in."""
    found = []
    for item in body.get("data", []):
        row_currency = item.get("account_currency") or currency
        ad_id = str(item["ad_id"])
        name, headlines, bodies = copy.get(ad_id, (None, (), ()))
        found.append(
            AdCreativeDay(
                ad_id=ad_id,
                campaign_id=str(item.get("campaign_id") or ""),
                day=date.fromisoformat(item["date_start"]),
                ad_name=item.get("ad_name") or name,
                headlines=headlines,
                bodies=bodies,
                currency=row_currency,
                spend_minor=to_minor_units(item.get("spend") or "0", row_currency),
                impressions=int(item.get("impressions") or 0),
                clicks=int(item.get("clicks") or 0),
                conversions_e4=conversions_to_scaled(_action_value(item.get("actions")) or "0"),
                conversion_value_minor=to_minor_units(_action_value(item.get("action_values")) or "0", row_currency),
            )
        )
    return found


def _json_header(response: httpx.Response, name: str) -> Any:
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def regain_seconds(response: httpx.Response) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) of ``x-business-use-case-usage``, in seconds."""
    usage = _json_header(response, "x-business-use-case-usage")
    if not isinstance(usage, dict):
        return None
    try:
        minutes = max(
            (float(e.get("estimated_time_to_regain_access") or 0) for v in usage.values() for e in v), default=0.0
        )
    except (TypeError, ValueError, AttributeError):
        return None
    return minutes * 60.0 if minutes > 0 else None


def _percent(values: Any, *names: str) -> float:
    if not isinstance(values, dict):
        return 0.0
    found = []
    for name in names:
        try:
            found.append(float(values.get(name) or 0))
        except (TypeError, ValueError):
            continue
    return max(found, default=0.0)


def app_usage_percent(response: httpx.Response) -> float:
    """How much of the app's limit is used: the highest of ``x-app-usage`` and ``app_id_util_pct``."""
    return max(
        _percent(_json_header(response, "x-app-usage"), "call_count", "total_cputime", "total_time"),
        _percent(_json_header(response, "x-fb-ads-insights-throttle"), "app_id_util_pct"),
    )


def interpret(response: httpx.Response, *, app_pause_seconds: float) -> dict[str, Any]:
    """A Graph API answer as its body, or the error it means (matched on codes, never on text)."""
    if response.status_code == 429:
        raise Throttled("Meta answered 429", retry_after_seconds(response))
    if response.status_code >= 500:
        body = json_body(response, "Meta") if response.content else None
        error = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(error, dict) and error.get("code") in APP_THROTTLE_CODES | ACCOUNT_THROTTLE_CODES):
            raise Transient(f"Meta answered {response.status_code}")
    body = json_body(response, "Meta")
    error = body.get("error") if isinstance(body, dict) else None
    if error:
        code, message = error.get("code"), str(error.get("message", "unknown error"))
        if code == 190:
            raise TokenExpired(message)
        if code in APP_THROTTLE_CODES:
            raise Throttled(message, regain_seconds(response) or app_pause_seconds, signal=f"meta_{code}")
        if code in ACCOUNT_THROTTLE_CODES:
            raise Throttled(message, regain_seconds(response), signal=f"meta_{code}")
        if error.get("is_transient"):
            raise Transient(message)
        raise PlatformError(message)
    if response.status_code >= 400 or not isinstance(body, dict):
        raise PlatformError(f"Meta answered {response.status_code}")
    return body


def _error_code(response: httpx.Response) -> int | None:
    if response.status_code < 400:
        return None
    try:
        error = response.json().get("error") or {}
        return int(error["code"])
    except (ValueError, TypeError, AttributeError, KeyError):
        return None


class MetaConnector(ConnectorDefaults):
    """One Meta ad account (``act_<id>``)."""

    def __init__(self, ctx: ConnectorContext, settings: MetaAdsSettings, account_id: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.root = f"{settings.base_url.rstrip('/')}/{settings.api_version}"
        self.account_id = account_id.removeprefix("act_")
        self.account_scope = f"{PLATFORM_KEY}.account.{self.account_id}"

    async def _respect_pauses(self, what: str) -> None:
        """Wait out a pause another worker set (or leave as ``MustWait`` when it is long)."""
        for scope in (APP_SCOPE, self.account_scope):
            until = await self.ctx.pauses.until(scope)
            wait = wait_until_seconds(until, self.ctx.clock)
            if wait is None or until is None:
                continue
            signal = "meta_app_pause" if scope == APP_SCOPE else "meta_account_pause"
            if wait > self.ctx.policy.max_wait:
                raise MustWait(f"{what}: Meta calls are paused until {until.isoformat()}", until, signal=signal)
            await self.ctx.sleep(wait)

    async def _note_usage(self, response: httpx.Response) -> None:
        """Pause every worker when the app or this account is at (or near) its limit."""
        now = self.ctx.clock.now()
        code = _error_code(response)
        regain = regain_seconds(response)
        app_used = app_usage_percent(response)
        if code in APP_THROTTLE_CODES or app_used >= self.settings.app_usage_pause_at:
            seconds = regain or float(self.settings.app_pause_seconds)
            reason = f"Meta app usage {app_used:.0f}%" + (f", error {code}" if code else "")
            await self.ctx.pauses.pause(APP_SCOPE, now + timedelta(seconds=seconds), reason)
        elif regain:
            # Only a wait Meta names pauses the account for everyone; without one, a refused call
            # backs off on its own (exponentially) like any other throttle.
            seconds = regain
            reason = f"ad account {self.account_id} at its business-use-case limit" + (
                f", error {code}" if code else ""
            )
            await self.ctx.pauses.pause(self.account_scope, now + timedelta(seconds=seconds), reason)

    async def _get(self, url: str, params: dict[str, str] | None, what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            # The token travels in a header, not the query string, so it never lands in a URL or a log line.
            headers = {"Authorization": f"Bearer {self.ctx.credentials.access_token}"}
            response = await self.ctx.http.get(url, params=params, headers=headers)
            await self._note_usage(response)
            return response

        await self._respect_pauses(what)
        check = partial(interpret, app_pause_seconds=float(self.settings.app_pause_seconds))
        try:
            return await call_with_retries(self.ctx, send, check, None, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]
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

    async def accessible_accounts(self) -> list[AccountChoice]:
        pages = await self._all_pages(
            f"{self.root}/me/adaccounts", {"fields": "account_id,name,currency,timezone_name", "limit": "200"}, "Meta"
        )
        return [
            AccountChoice(
                account_id=str(item.get("account_id") or str(item.get("id", "")).removeprefix("act_")),
                name=item.get("name"),
                currency=item.get("currency"),
                time_zone=item.get("timezone_name"),
            )
            for page in pages
            for item in page.get("data", [])
        ]

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

    async def ad_creatives(self, window: DateRange, account: AccountInfo) -> list[AdCreativeDay]:
        """Ad-level insights per day, each ad with the copy of its creative."""
        copy: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {}
        ads_url = f"{self.root}/act_{self.account_id}/ads"
        for page in await self._all_pages(ads_url, {"fields": AD_COPY_FIELDS, "limit": "500"}, "Meta ad copy"):
            copy.update(parse_ad_copy(page))
        params = {
            "level": "ad",
            "time_increment": "1",
            "time_range": json.dumps({"since": window.start.isoformat(), "until": window.end.isoformat()}),
            "fields": AD_INSIGHT_FIELDS,
            "limit": "500",
        }
        days: list[AdCreativeDay] = []
        for page in await self._all_pages(f"{self.root}/act_{self.account_id}/insights", params, "Meta ad insights"):
            days.extend(parse_ad_insights_page(page, copy, account.currency))
        return days
