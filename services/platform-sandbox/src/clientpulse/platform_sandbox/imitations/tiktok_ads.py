"""TikTok Ads: the Business API v1.3 (integrated report, campaigns, advertisers) and its OAuth endpoints.

Under ``/tiktok``. Every answer is HTTP 200 with ``{code, message, request_id, data}``; a non-zero code is
the error, throttling included (``40100``). Empty metrics are the string ``"-"``.

Purchases are website complete-payment events: ``complete_payment`` (count),
``total_complete_payment_rate`` (their total value, despite the name), ``value_per_complete_payment`` and
``complete_payment_roas``; ``total_purchase_value`` (in-app purchases) is served with the same value.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.credentials import authorize, presented_token
from clientpulse.platform_sandbox.data import (
    CampaignFacts,
    DayStats,
    ads_of,
    campaigns,
    day_stats,
    days_between,
    split_day,
    window_stats,
)
from clientpulse.platform_sandbox.faults import (
    ACCOUNT_FAULTS,
    TOKEN_ACCOUNT,
    TOKEN_FAULTS,
    Argument,
    Fault,
    generic_answer,
)
from clientpulse.platform_sandbox.state import SandboxState, TokenState, state_of

PLATFORM = "tiktok_ads"
FAULTS: dict[str, Argument] = {}
ACCESS_TOKEN_SECONDS = 86_400
REFRESH_TOKEN_SECONDS = 31_536_000
GRANT_KINDS = {"access": ACCESS_TOKEN_SECONDS}
# The advertisers the person behind a sandbox token authorised (accounts a test configures are added).
VISIBLE_ADVERTISERS = ("7001001",)
# A report with stat_time_day covers at most 30 days; one without, at most 365.
DAILY_REPORT_MAX_DAYS = 30
REPORT_MAX_DAYS = 365
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
_STATUS = {
    "ACTIVE": ("ENABLE", "CAMPAIGN_STATUS_ENABLE"),
    "PAUSED": ("DISABLE", "CAMPAIGN_STATUS_DISABLE"),
    "ARCHIVED": ("DISABLE", "CAMPAIGN_STATUS_DELETE"),
}


def _answer(code: int, message: str, data: Any = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "request_id": "2025SbxRequest", "data": data or {}})


def _guard(request: web.Request, advertiser: str | None) -> web.Response | None:
    """TikTok's refusal of this request, or None to answer it."""
    state = state_of(request)
    token = presented_token(request, header="Access-Token")
    if not token:
        return _answer(40104, "Access token is null, please check.")
    fault = state.next_fault(request, PLATFORM, advertiser, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    token_state = state.token_state(token)
    if token_state is TokenState.REVOKED:
        return _answer(40105, "Access token is incorrect or has been revoked.")
    if token_state is TokenState.EXPIRED:
        return _answer(40102, "Access token has expired.")
    if fault is None or fault.name in ("none", "expired_token"):
        return None
    if fault.name == "throttle":
        return _answer(40100, "App reaches the QPS limit.")
    return generic_answer(fault)


def _json_param(request: web.Request, name: str) -> Any:
    try:
        return json.loads(request.query.get(name, "null"))
    except ValueError:
        return None


def _paged(request: web.Request, rows: list[Any]) -> dict[str, Any]:
    page, size = int(request.query.get("page", 1)), min(int(request.query.get("page_size", 10)), 1000)
    total_page = max(1, -(-len(rows) // size))
    return {
        "list": rows[(page - 1) * size : page * size],
        "page_info": {"page": page, "page_size": size, "total_number": len(rows), "total_page": total_page},
    }


def _metrics(facts: CampaignFacts, stats: DayStats | None, *, no_reach: str) -> dict[str, str]:
    """A report row's metrics; ``"-"`` where TikTok has nothing to show (no delivery, no payment)."""
    metrics = {
        "campaign_name": facts.name,
        "spend": "0.00",
        "impressions": "0",
        "clicks": "0",
        "ctr": "0.00",
        "reach": no_reach,
        "frequency": "-",
        "conversion": "0",
        "complete_payment": "0",
        "total_complete_payment_rate": "-",
        "value_per_complete_payment": "-",
        "complete_payment_roas": "-",
        "total_purchase_value": "-",
    }
    if stats is None:
        return metrics
    metrics.update(
        {
            "spend": f"{stats.spend}",
            "impressions": str(stats.impressions),
            "clicks": str(stats.clicks),
            "ctr": f"{stats.clicks / stats.impressions * 100:.2f}",
            "reach": str(stats.reach),
            "frequency": f"{stats.impressions / stats.reach:.2f}",
            "conversion": str(stats.conversions),
            "complete_payment": str(stats.conversions),
        }
    )
    if stats.conversions:
        value = f"{stats.conversion_value}"
        metrics["total_complete_payment_rate"] = value
        metrics["total_purchase_value"] = value
        metrics["value_per_complete_payment"] = f"{stats.conversion_value / stats.conversions:.2f}"
        metrics["complete_payment_roas"] = f"{stats.conversion_value / stats.spend:.2f}"
    return metrics


async def report(request: web.Request) -> web.Response:
    """``/report/integrated/get/`` at campaign level: per day with ``stat_time_day``, else over the range
    (reach over the range: people, not the sum of the days)."""
    advertiser = request.query.get("advertiser_id", "")
    if (problem := _guard(request, advertiser)) is not None:
        return problem
    dimensions = _json_param(request, "dimensions") or []
    try:
        start, end = date.fromisoformat(request.query["start_date"]), date.fromisoformat(request.query["end_date"])
    except (KeyError, ValueError):
        return _answer(40002, "start_date and end_date are required (YYYY-MM-DD).")
    daily = "stat_time_day" in dimensions
    days = (end - start).days + 1
    if daily and days > DAILY_REPORT_MAX_DAYS:
        return _answer(40002, "The time range cannot exceed 30 days when stat_time_day is a dimension.")
    if days > REPORT_MAX_DAYS:
        return _answer(40002, "The time range cannot exceed 365 days.")
    profile = state_of(request).profile(PLATFORM, advertiser)
    await asyncio.sleep(profile.latency)
    if request.query.get("data_level") == "AUCTION_AD":
        if not daily:
            return _answer(40002, "The sandbox serves AUCTION_AD reports per day (stat_time_day) only.")
        return _answer(0, "OK", _paged(request, _ad_report_rows(profile, start, end)))
    rows: list[dict[str, Any]] = []
    for c in campaigns(profile):
        if daily:
            for day in days_between(start, end):
                rows.append(
                    {
                        "metrics": _metrics(c, day_stats(profile, c, day), no_reach="0"),
                        "dimensions": {"campaign_id": c.campaign_id, "stat_time_day": f"{day.isoformat()} 00:00:00"},
                    }
                )
        else:
            rows.append(
                {
                    "metrics": _metrics(c, window_stats(profile, c, start, end), no_reach="-"),
                    "dimensions": {"campaign_id": c.campaign_id},
                }
            )
    return _answer(0, "OK", _paged(request, rows))


def _ad_report_rows(profile: Any, start: date, end: date) -> list[dict[str, Any]]:
    """``data_level=AUCTION_AD`` rows per ad and day: each ad's part of its campaign's day."""
    rows = []
    for day in days_between(start, end):
        for c in campaigns(profile):
            ads = ads_of(c)
            stats = day_stats(profile, c, day)
            parts: list[DayStats | None] = (
                list(split_day(stats, [a.share for a in ads])) if stats is not None else [None] * len(ads)
            )
            for ad, part in zip(ads, parts, strict=True):
                metrics = _metrics(c, part, no_reach="0")
                metrics.update({"ad_name": ad.name, "campaign_id": c.campaign_id})
                rows.append(
                    {
                        "metrics": metrics,
                        "dimensions": {"ad_id": ad.ad_id, "stat_time_day": f"{day.isoformat()} 00:00:00"},
                    }
                )
    return rows


async def ad_list(request: web.Request) -> web.Response:
    """``/ad/get/``: every ad of the advertiser with its name and ad text (the primary text)."""
    advertiser = request.query.get("advertiser_id", "")
    if (problem := _guard(request, advertiser)) is not None:
        return problem
    profile = state_of(request).profile(PLATFORM, advertiser)
    rows = [
        {
            "advertiser_id": advertiser,
            "campaign_id": c.campaign_id,
            "adgroup_id": f"{c.campaign_id}5",
            "ad_id": ad.ad_id,
            "ad_name": ad.name,
            "ad_text": ad.bodies[0],
            "operation_status": _STATUS[c.status][0],
            "secondary_status": "AD_STATUS_DELIVERY_OK" if c.status == "ACTIVE" else "AD_STATUS_CAMPAIGN_DISABLE",
        }
        for c in campaigns(profile)
        for ad in ads_of(c)
    ]
    return _answer(0, "OK", _paged(request, rows))


async def campaign_list(request: web.Request) -> web.Response:
    advertiser = request.query.get("advertiser_id", "")
    if (problem := _guard(request, advertiser)) is not None:
        return problem
    profile = state_of(request).profile(PLATFORM, advertiser)
    rows = [
        {
            "advertiser_id": advertiser,
            "campaign_id": c.campaign_id,
            "campaign_name": c.name,
            "operation_status": _STATUS[c.status][0],
            "secondary_status": _STATUS[c.status][1],
            "objective_type": "WEB_CONVERSIONS",
            "budget": 250.0,
            "budget_mode": "BUDGET_MODE_DAY",
        }
        for c in campaigns(profile)
    ]
    return _answer(0, "OK", _paged(request, rows))


async def advertiser_info(request: web.Request) -> web.Response:
    ids = _json_param(request, "advertiser_ids") or []
    if not ids:
        return _answer(40002, "advertiser_ids is required.")
    if (problem := _guard(request, str(ids[0]))) is not None:
        return problem
    state = state_of(request)
    found = []
    for advertiser in map(str, ids):
        profile = state.profile(PLATFORM, advertiser)
        found.append(
            {
                "advertiser_id": advertiser,
                "name": profile.name,
                "currency": profile.currency,
                "timezone": profile.time_zone,
            }
        )
    return _answer(0, "OK", {"list": found})


async def authorized_advertisers(request: web.Request) -> web.Response:
    """``/oauth2/advertiser/get/``: the advertisers the token was authorised for."""
    if not request.query.get("app_id") or not request.query.get("secret"):
        return _answer(40002, "app_id and secret are required.")
    if (problem := _guard(request, None)) is not None:
        return problem
    state = state_of(request)
    advertisers = dict.fromkeys([*VISIBLE_ADVERTISERS, *state.configured_accounts(PLATFORM)])
    listed = [{"advertiser_id": a, "advertiser_name": state.profile(PLATFORM, a).name} for a in advertisers]
    return _answer(0, "OK", {"list": listed})


async def consent(request: web.Request) -> web.Response:
    return authorize(request, PLATFORM, code_param="auth_code")


def _token_fault_answer(fault: Fault, *, dead_grant: web.Response) -> web.Response | None:
    if fault.name == "token_rate_limit":
        return _answer(40100, "Requests made too frequently.")
    if fault.name == "token_server_error":
        return web.json_response(
            {"code": 50002, "message": "Service unavailable, please retry later.", "request_id": "2025SbxRequest"},
            status=503,
        )
    if fault.name == "invalid_client":
        return _answer(40101, "The combination of app_id and secret is invalid.")
    if fault.name == "invalid_grant":
        return dead_grant
    return generic_answer(fault)


def _tokens(state: SandboxState, advertisers: list[str]) -> dict[str, Any]:
    access_token, _ = state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)
    return {
        "access_token": access_token,
        "refresh_token": state.issue_refresh_token(PLATFORM),
        "access_token_expire_in": ACCESS_TOKEN_SECONDS,
        "refresh_token_expire_in": REFRESH_TOKEN_SECONDS,
        "advertiser_ids": advertisers,
        "scope": [4],
    }


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def access_token(request: web.Request) -> web.Response:
    """``POST /oauth2/access_token/``: an ``auth_code`` for a token pair."""
    state = state_of(request)
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    dead_code = _answer(40110, "auth_code is invalid or has expired.")
    if fault is not None and (problem := _token_fault_answer(fault, dead_grant=dead_code)) is not None:
        return problem
    body = await _body(request)
    if body is None:
        return _answer(40002, "The request body must be a JSON object.")
    grant = state.codes.pop(str(body.get("auth_code", "")), None)
    if grant is None or grant["platform"] != PLATFORM:
        return dead_code
    return _answer(0, "OK", _tokens(state, [grant.get("account_id") or ""]))


async def refresh_token(request: web.Request) -> web.Response:
    """``POST /oauth2/refresh_token/``: a new token pair; the refresh token is spent (rotated) by the call."""
    state = state_of(request)
    body = await _body(request)
    if body is None:
        return _answer(40002, "The request body must be a JSON object.")
    presented = str(body.get("refresh_token", ""))
    dead_refresh = _answer(40107, "refresh_token is invalid or has expired.")
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    if fault is not None and (problem := _token_fault_answer(fault, dead_grant=dead_refresh)) is not None:
        if fault.name == "invalid_grant":
            state.refresh_tokens.pop(presented, None)
        return problem
    if state.refresh_tokens.pop(presented, None) != PLATFORM:
        return dead_refresh
    return _answer(0, "OK", _tokens(state, []))


def add_routes(router: web.UrlDispatcher) -> None:
    """TikTok's routes under ``/tiktok``."""
    router.add_get("/tiktok/portal/auth", consent)
    router.add_get("/tiktok/open_api/v1.3/report/integrated/get/", report)
    router.add_get("/tiktok/open_api/v1.3/campaign/get/", campaign_list)
    router.add_get("/tiktok/open_api/v1.3/ad/get/", ad_list)
    router.add_get("/tiktok/open_api/v1.3/advertiser/info/", advertiser_info)
    router.add_get("/tiktok/open_api/v1.3/oauth2/advertiser/get/", authorized_advertisers)
    router.add_post("/tiktok/open_api/v1.3/oauth2/access_token/", access_token)
    router.add_post("/tiktok/open_api/v1.3/oauth2/refresh_token/", refresh_token)
