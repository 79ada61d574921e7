"""TikTok Ads (Business API v1.3 integrated report: daily rows in windows of at most 30 days)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
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
from clientpulse.results_ingest.domain.money import currency_exponent, to_minor_units
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import Platform
from clientpulse.results_ingest.domain.records import AccountInfo, CampaignDay, conversions_to_scaled
from clientpulse.results_ingest.domain.statuses import tiktok_status
from clientpulse.results_ingest.domain.windows import slices

DAILY_METRICS = [
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "reach",
    "conversion",
    "total_purchase_value",
    "complete_payment_roas",
]
MAX_DAILY_WINDOW = 30
THROTTLE_CODES = frozenset({40100, 40133})
TOKEN_CODES = frozenset({40102, 40104, 40105})
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
        value = _number(metrics.get("total_purchase_value"))
        if value is None and (roas := _number(metrics.get("complete_payment_roas"))) is not None:
            # Only the ratio came back: revenue = ROAS × spend, to the currency's minor unit.
            value = str(
                (Decimal(roas) * Decimal(spend)).quantize(
                    Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_EVEN
                )
            )
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
    if code in (40107, 40110):
        raise ReconnectRequired(message)
    if code in (50000, 50002):
        raise Transient(f"TikTok {code}: {message}")
    raise PlatformError(f"TikTok {code}: {message}")


class TikTokConnector:
    """One TikTok advertiser."""

    platform = Platform.TIKTOK_ADS

    def __init__(self, ctx: ConnectorContext, *, base_url: str, advertiser_id: str, app_id: str, secret: str) -> None:
        self.ctx = ctx
        self.root = f"{base_url.rstrip('/')}/open_api/v1.3"
        self.advertiser_id = advertiser_id
        self.app_id = app_id
        self.secret = secret

    async def refresh(self) -> None:
        """New tokens from the refresh token; TikTok rotates it, so the new one is stored before use."""
        await self.ctx.renew(self._renew)

    async def _renew(self, credentials: Credentials) -> Credentials:
        if not credentials.refresh_token:
            raise ReconnectRequired("the TikTok access token expired and there is no refresh token")

        async def send() -> httpx.Response:
            return await self.ctx.http.post(
                f"{self.root}/oauth2/refresh_token/",
                json={
                    "app_id": self.app_id,
                    "secret": self.secret,
                    "refresh_token": credentials.refresh_token,
                    "grant_type": "refresh_token",
                },
            )

        body = await call_with_retries(
            self.ctx, send, interpret, None, what="TikTok token refresh", platform=self.platform
        )
        data = body["data"]
        renewed = Credentials(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token") or credentials.refresh_token,
            expires_at=datetime.now(UTC) + timedelta(seconds=int(data.get("access_token_expire_in", 86400))),
        )
        return renewed

    async def _get(self, path: str, params: dict[str, str], what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            return await self.ctx.http.get(
                f"{self.root}/{path}", params=params, headers={"Access-Token": self.ctx.credentials.access_token}
            )

        try:
            return await call_with_retries(self.ctx, send, interpret, self.refresh, what=what, platform=self.platform)  # type: ignore[no-any-return]
        except TokenExpired as exc:
            raise ReconnectRequired(str(exc)) from exc

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

    async def _report(self, window: DateRange, dimensions: list[str], metrics: list[str]) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        page, total = 1, 1
        while page <= total:
            body = await self._get(
                "report/integrated/get/",
                {
                    "advertiser_id": self.advertiser_id,
                    "service_type": "AUCTION",
                    "report_type": "BASIC",
                    "data_level": "AUCTION_CAMPAIGN",
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
