"""TikTok Ads (Business API v1.3 integrated report: daily rows in windows of at most 30 days).

Revenue is the purchase value TikTok reports as an amount, ``total_complete_payment_rate`` (the
total value of the "Complete Payment" website event, despite the ``_rate`` in its name), stored as
it comes. It is never rebuilt from ``complete_payment_roas``: that ratio is rounded to two decimals,
and ``"0"`` there would make any revenue 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
from clientpulse.results_ingest.domain.windows import slices
from clientpulse.results_ingest.platforms.tiktok_ads.statuses import tiktok_status
from clientpulse.shared.money import to_minor_units

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.tiktok_ads import TikTokAdsSettings

PLATFORM_KEY = "tiktok_ads"
# The purchase amount (website Complete Payment value), as TikTok reports it.
PURCHASE_VALUE_METRIC = "total_complete_payment_rate"
DAILY_METRICS = [
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "reach",
    "conversion",
    PURCHASE_VALUE_METRIC,
]
# Ad-level daily report (``data_level=AUCTION_AD``): the ad's name and campaign come as attribute metrics.
AD_DAILY_METRICS = ["ad_name", "campaign_id", "spend", "impressions", "clicks", "conversion", PURCHASE_VALUE_METRIC]
# ``/ad/get/``: the ad's primary text is ``ad_text`` (TikTok ads have no separate headline).
AD_FIELDS = ["ad_id", "ad_name", "ad_text", "campaign_id"]
MAX_DAILY_WINDOW = 30
THROTTLE_CODES = frozenset({40100, 40133})
TOKEN_CODES = frozenset({40102, 40104, 40105})
# Token endpoint answers: the grant (refresh token, auth code) is expired or revoked; our app's
# own id or secret is wrong.
DEAD_GRANT_CODES = frozenset({40105, 40107, 40110})
APP_CONFIGURATION_CODES = frozenset({40001, 40003, 40101})
TRANSIENT_CODES = frozenset({50000, 50002})
PAGE_SIZE = 1000


def _number(value: Any) -> str | None:
    """A TikTok metric value: ``"-"`` (no data) is ``None``."""
    if value is None or value == "-" or value == "":
        return None
    return str(value)


@dataclass(frozen=True, slots=True)
class TikTokReportRow:
    """One campaign-day of the integrated report before statuses are joined in."""

    campaign_id: str
    campaign_name: str
    day: date
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int
    reach: int | None


def parse_report_page(body: dict[str, Any], currency: str) -> tuple[list[TikTokReportRow], int, int]:
    """Rows of one report page, with (page, total_page)."""
    data = body.get("data") or {}
    rows = []
    for item in data.get("list", []):
        metrics, dims = item.get("metrics", {}), item.get("dimensions", {})
        spend = _number(metrics.get("spend")) or "0"
        value = _number(metrics.get(PURCHASE_VALUE_METRIC))
        reach = _number(metrics.get("reach"))
        rows.append(
            TikTokReportRow(
                campaign_id=str(dims["campaign_id"]),
                campaign_name=str(metrics.get("campaign_name") or dims["campaign_id"]),
                day=date.fromisoformat(str(dims["stat_time_day"])[:10]),
                spend_minor=to_minor_units(spend, currency),
                impressions=int(_number(metrics.get("impressions")) or 0),
                clicks=int(_number(metrics.get("clicks")) or 0),
                conversions_e4=conversions_to_scaled(_number(metrics.get("conversion")) or "0"),
                conversion_value_minor=to_minor_units(value or "0", currency),
                reach=int(reach) if reach is not None else None,
            )
        )
    info = data.get("page_info", {})
    return rows, int(info.get("page", 1)), int(info.get("total_page", 1))


def parse_campaigns(body: dict[str, Any]) -> tuple[dict[str, tuple[str | None, str | None]], int, int]:
    """campaign id → (operation_status, secondary_status), with (page, total_page)."""
    data = body.get("data") or {}
    found = {
        str(c["campaign_id"]): (c.get("operation_status"), c.get("secondary_status")) for c in data.get("list", [])
    }
    info = data.get("page_info", {})
    return found, int(info.get("page", 1)), int(info.get("total_page", 1))


def parse_ads(body: dict[str, Any]) -> tuple[dict[str, tuple[str | None, str | None]], int]:
    """ad id → (ad_name, ad_text) of one ``/ad/get/`` page, with total_page."""
    data = body.get("data") or {}
    found = {str(a["ad_id"]): (a.get("ad_name"), a.get("ad_text")) for a in data.get("list", []) if a.get("ad_id")}
    return found, int((data.get("page_info") or {}).get("total_page", 1))


def parse_ad_report_page(
    body: dict[str, Any], copy: dict[str, tuple[str | None, str | None]], currency: str
) -> list[AdCreativeDay]:
    """The ad-days of one ``AUCTION_AD`` report page that delivered, each with its ad text joined in."""
    found = []
    for item in (body.get("data") or {}).get("list", []):
        metrics, dims = item.get("metrics", {}), item.get("dimensions", {})
        ad_id = str(dims["ad_id"])
        name, text = copy.get(ad_id, (None, None))
        day = AdCreativeDay(
            ad_id=ad_id,
            campaign_id=str(_number(metrics.get("campaign_id")) or ""),
            day=date.fromisoformat(str(dims["stat_time_day"])[:10]),
            ad_name=_number(metrics.get("ad_name")) or name,
            headlines=(),
            bodies=distinct_texts(text),
            currency=currency,
            spend_minor=to_minor_units(_number(metrics.get("spend")) or "0", currency),
            impressions=int(_number(metrics.get("impressions")) or 0),
            clicks=int(_number(metrics.get("clicks")) or 0),
            conversions_e4=conversions_to_scaled(_number(metrics.get("conversion")) or "0"),
            conversion_value_minor=to_minor_units(_number(metrics.get(PURCHASE_VALUE_METRIC)) or "0", currency),
        )
        if day.impressions or day.spend_minor or day.clicks or day.conversions_e4:
            found.append(day)
    return found


def interpret(response: httpx.Response) -> dict[str, Any]:
    """A TikTok answer as its body, or the error it means (throttling is ``code 40100`` in a 200 body)."""
    if response.status_code == 429:
        raise Throttled("TikTok answered 429", retry_after_seconds(response))
    if response.status_code >= 500:
        raise Transient(f"TikTok answered {response.status_code}")
    body = json_body(response, "TikTok")
    if not isinstance(body, dict) or "code" not in body:
        raise Transient("TikTok answered without a code")
    code, message = body["code"], str(body.get("message", ""))
    if code == 0:
        return body
    if code in THROTTLE_CODES:
        raise Throttled(f"TikTok {code}: {message}", 1.0, signal=f"tiktok_{code}")
    if code in TOKEN_CODES:
        raise TokenExpired(message)
    if code in DEAD_GRANT_CODES:
        raise ReconnectRequired(message)
    if code in TRANSIENT_CODES:
        raise Transient(f"TikTok {code}: {message}")
    raise PlatformError(f"TikTok {code}: {message}")


def interpret_token_answer(response: httpx.Response) -> dict[str, Any]:
    """A token endpoint's answer: only an expired or revoked grant needs a person to connect again."""
    if response.status_code == 429:
        raise Throttled("TikTok token endpoint answered 429", retry_after_seconds(response), signal="token_http_429")
    if response.status_code >= 500:
        raise Transient(f"TikTok token endpoint answered {response.status_code}")
    body = json_body(response, "TikTok token endpoint")
    code = body.get("code") if isinstance(body, dict) else None
    message = f"TikTok {code}: {body.get('message', '')}" if isinstance(body, dict) else "TikTok: no body"
    if code == 0 and isinstance(body.get("data"), dict) and body["data"].get("access_token"):
        return body  # type: ignore[no-any-return]
    if code in THROTTLE_CODES:
        raise Throttled(message, 1.0, signal=f"tiktok_{code}")
    if code in DEAD_GRANT_CODES:
        raise ReconnectRequired(message)
    if code in APP_CONFIGURATION_CODES:
        raise Misconfigured(message)
    if code in TRANSIENT_CODES:
        raise Transient(message)
    raise PlatformError(message)


async def token_request(
    ctx: ConnectorContext, settings: TikTokAdsSettings, path: str, payload: dict[str, Any], what: str
) -> Credentials:
    """Ask a TikTok token endpoint for credentials."""

    async def send() -> httpx.Response:
        url = f"{settings.base_url.rstrip('/')}/open_api/v1.3/oauth2/{path}/"
        return await ctx.http.post(
            url, json={"app_id": settings.app_id, "secret": settings.app_secret.get_secret_value(), **payload}
        )

    body = await call_with_retries(ctx, send, interpret_token_answer, None, what=what, platform=PLATFORM_KEY)
    data = body["data"]
    expires_in = data.get("access_token_expire_in") or data.get("expires_in")
    return Credentials(
        access_token=str(data["access_token"]),
        refresh_token=data.get("refresh_token") or payload.get("refresh_token"),
        expires_at=ctx.clock.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
    )


async def refresh_tokens(ctx: ConnectorContext, settings: TikTokAdsSettings, credentials: Credentials) -> Credentials:
    """New tokens for a refresh token; TikTok rotates it, so the new one replaces it at once."""
    if not credentials.refresh_token:
        raise ReconnectRequired("the TikTok access token expired and there is no refresh token")
    return await token_request(
        ctx,
        settings,
        "refresh_token",
        {"refresh_token": credentials.refresh_token, "grant_type": "refresh_token"},
        "TikTok token refresh",
    )


class TikTokConnector(ConnectorDefaults):
    """One TikTok advertiser."""

    def __init__(self, ctx: ConnectorContext, settings: TikTokAdsSettings, advertiser_id: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.root = f"{settings.base_url.rstrip('/')}/open_api/v1.3"
        self.advertiser_id = advertiser_id

    async def refresh(self) -> None:
        """New tokens from the refresh token, stored before they are used."""
        await self.ctx.renew(lambda credentials: refresh_tokens(self.ctx, self.settings, credentials))

    async def _get(self, path: str, params: dict[str, str], what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            return await self.ctx.http.get(
                f"{self.root}/{path}", params=params, headers={"Access-Token": self.ctx.credentials.access_token}
            )

        try:
            return await call_with_retries(self.ctx, send, interpret, self.refresh, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]
        except TokenExpired as exc:
            raise ReconnectRequired(str(exc)) from exc

    async def accessible_accounts(self) -> list[AccountChoice]:
        body = await self._get(
            "oauth2/advertiser/get/",
            {"app_id": self.settings.app_id, "secret": self.settings.app_secret.get_secret_value()},
            "TikTok advertisers",
        )
        return [
            AccountChoice(
                account_id=str(item["advertiser_id"]), name=item.get("advertiser_name"), currency=None, time_zone=None
            )
            for item in (body.get("data") or {}).get("list", [])
        ]

    async def account_info(self) -> AccountInfo:
        body = await self._get(
            "advertiser/info/", {"advertiser_ids": json.dumps([self.advertiser_id])}, "TikTok advertiser"
        )
        found = (body.get("data") or {}).get("list") or []
        if not found:
            raise PlatformError(f"TikTok advertiser {self.advertiser_id} is not visible to this token")
        item = found[0]
        return AccountInfo(self.advertiser_id, item.get("name"), str(item["currency"]), str(item["timezone"]))

    async def _statuses(self) -> dict[str, tuple[str | None, str | None]]:
        statuses: dict[str, tuple[str | None, str | None]] = {}
        page, total = 1, 1
        while page <= total:
            body = await self._get(
                "campaign/get/",
                {"advertiser_id": self.advertiser_id, "page": str(page), "page_size": "100"},
                "TikTok campaigns",
            )
            found, _, total = parse_campaigns(body)
            statuses.update(found)
            page += 1
        return statuses

    async def _report(
        self, window: DateRange, dimensions: list[str], metrics: list[str], data_level: str = "AUCTION_CAMPAIGN"
    ) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        page, total = 1, 1
        while page <= total:
            body = await self._get(
                "report/integrated/get/",
                {
                    "advertiser_id": self.advertiser_id,
                    "service_type": "AUCTION",
                    "report_type": "BASIC",
                    "data_level": data_level,
                    "dimensions": json.dumps(dimensions),
                    "metrics": json.dumps(metrics),
                    "start_date": window.start.isoformat(),
                    "end_date": window.end.isoformat(),
                    "page": str(page),
                    "page_size": str(PAGE_SIZE),
                },
                "TikTok report",
            )
            pages.append(body)
            total = int(((body.get("data") or {}).get("page_info") or {}).get("total_page", 1))
            page += 1
        return pages

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        rows: list[TikTokReportRow] = []
        for part in slices(window, MAX_DAILY_WINDOW):
            for body in await self._report(part, ["campaign_id", "stat_time_day"], DAILY_METRICS):
                rows.extend(parse_report_page(body, account.currency)[0])
        statuses = await self._statuses()
        out = []
        for r in rows:
            if r.impressions == 0 and r.spend_minor == 0 and r.clicks == 0 and r.conversions_e4 == 0:
                continue  # a campaign that did not deliver that day: nothing to add
            operation, secondary = statuses.get(r.campaign_id, (None, None))
            out.append(
                CampaignDay(
                    campaign_id=r.campaign_id,
                    day=r.day,
                    campaign_name=r.campaign_name,
                    status=tiktok_status(operation, secondary),
                    status_raw=secondary or operation,
                    currency=account.currency,
                    spend_minor=r.spend_minor,
                    impressions=r.impressions,
                    clicks=r.clicks,
                    conversions_e4=r.conversions_e4,
                    conversion_value_minor=r.conversion_value_minor,
                    reach_daily=r.reach,
                )
            )
        return out

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        reach: dict[str, tuple[int, int]] = {}
        for body in await self._report(window, ["campaign_id"], ["reach", "impressions"]):
            for item in (body.get("data") or {}).get("list", []):
                people = _number(item.get("metrics", {}).get("reach"))
                if people is not None:
                    impressions = int(_number(item["metrics"].get("impressions")) or 0)
                    reach[str(item["dimensions"]["campaign_id"])] = (int(people), impressions)
        return reach

    async def ad_creatives(self, window: DateRange, account: AccountInfo) -> list[AdCreativeDay]:
        """The ad-level daily report, each ad with its ad text from ``/ad/get/``."""
        copy: dict[str, tuple[str | None, str | None]] = {}
        page, total = 1, 1
        while page <= total:
            body = await self._get(
                "ad/get/",
                {"advertiser_id": self.advertiser_id, "fields": json.dumps(AD_FIELDS), "page": str(page),
                 "page_size": "1000"},
                "TikTok ads",
            )  # fmt: skip
            found, total = parse_ads(body)
            copy.update(found)
            page += 1
        days: list[AdCreativeDay] = []
        for part in slices(window, MAX_DAILY_WINDOW):
            for body in await self._report(part, ["ad_id", "stat_time_day"], AD_DAILY_METRICS, "AUCTION_AD"):
                days.extend(parse_ad_report_page(body, copy, account.currency))
        return days
