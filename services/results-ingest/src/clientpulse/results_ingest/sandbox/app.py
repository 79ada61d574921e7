"""The sandbox's HTTP app (aiohttp): Meta Insights, Google Ads search/searchStream, TikTok reporting,
each platform's OAuth endpoints, and the ``/_sandbox`` control routes that inject faults."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from collections import defaultdict, deque
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from clientpulse.results_ingest.sandbox.data import (
    AccountProfile,
    CampaignFacts,
    campaigns,
    day_stats,
    default_profile,
    period_reach,
)

META, GOOGLE, TIKTOK = "meta_ads", "google_ads", "tiktok_ads"
FAULT_HEADER = "X-Sandbox-Fault"
FAULTS = (
    "rate_limit",  # HTTP 429 with Retry-After (seconds, ``rate_limit:2``)
    "server_error",  # HTTP 503
    "expired_token",  # the platform's own expired-token answer; the token stays dead until refreshed
    "malformed",  # HTTP 200 with a body cut in half
    "throttle",  # Meta 80000, Google RESOURCE_EXHAUSTED, TikTok 40100 in a 200 body
    "throttle_17",  # Meta code 17 (user request limit)
)


class SandboxState:
    """Accounts, tokens, authorization codes and queued faults of one sandbox process."""

    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], AccountProfile] = {}
        self.faults: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        self.dead_tokens: set[str] = set()
        self.refresh_tokens: dict[str, str] = {}  # refresh token → platform
        self.codes: dict[str, dict[str, Any]] = {}
        self.requests: dict[tuple[str, str], int] = defaultdict(int)

    def profile(self, platform: str, account_id: str) -> AccountProfile:
        return self.profiles.get((platform, account_id)) or default_profile(platform, account_id)

    def next_fault(self, request: web.Request, platform: str, account_id: str) -> str | None:
        self.requests[(platform, account_id)] += 1
        if request.headers.get(FAULT_HEADER):
            return request.headers[FAULT_HEADER]
        queue = self.faults.get((platform, account_id))
        return queue.popleft() if queue else None

    def issue_token(self, platform: str) -> str:
        return f"sbx-{platform}-{secrets.token_urlsafe(12)}"


def _state(request: web.Request) -> SandboxState:
    return request.app["state"]  # type: ignore[no-any-return]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _retry_after(fault: str) -> str:
    return fault.split(":", 1)[1] if ":" in fault else "1"


def _generic_fault(fault: str) -> web.Response | None:
    name = fault.split(":", 1)[0]
    if name == "rate_limit":
        return web.json_response(
            {"error": {"message": "Too Many Requests"}}, status=429, headers={"Retry-After": _retry_after(fault)}
        )
    if name == "server_error":
        return web.json_response({"error": {"message": "Service Unavailable"}}, status=503)
    if name == "malformed":
        return web.Response(status=200, text='{"data": [{"campaign_id": "12', content_type="application/json")
    return None


def _token(request: web.Request, *, header: str | None = None) -> str:
    if header:
        return request.headers.get(header, "")
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() or request.query.get("access_token", "")


# --- Meta ------------------------------------------------------------------------------------------


def _meta_error(
    code: int, message: str, *, subcode: int | None = None, status: int = 400, headers: Any = None
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "SbxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=status, headers=headers)


def _meta_expired() -> web.Response:
    message = "Error validating access token: Session has expired on Wednesday, 14-Feb-18 18:00:00 PST."
    return _meta_error(190, message, subcode=463)


def _meta_guard(request: web.Request, account_id: str) -> web.Response | None:
    state = _state(request)
    token = _token(request)
    if not token:
        return _meta_error(104, "An access token is required to request this resource.")
    fault = state.next_fault(request, META, account_id)
    if fault == "expired_token":
        state.dead_tokens.add(token)
    if token in state.dead_tokens:
        return _meta_expired()
    if fault in ("throttle", "throttle_17"):
        usage = {
            account_id: [
                {
                    "type": "ads_insights",
                    "call_count": 100,
                    "total_cputime": 38,
                    "total_time": 61,
                    "estimated_time_to_regain_access": 0,
                    "ads_api_access_tier": "standard_access",
                }
            ]
        }
        throttle = {"app_id_util_pct": 14.2, "acc_id_util_pct": 100, "ads_api_access_tier": "standard_access"}
        headers = {"x-business-use-case-usage": json.dumps(usage), "x-fb-ads-insights-throttle": json.dumps(throttle)}
        if fault == "throttle_17":
            return _meta_error(17, "(#17) User request limit reached", subcode=2446079, headers=headers)
        message = "(#80000) There have been too many calls from this ad-account. Wait a bit and try again."
        return _meta_error(80000, message, subcode=2446079, headers=headers)
    return _generic_fault(fault) if fault else None


def _meta_account(request: web.Request) -> str:
    return request.match_info["account"]


def _page(request: web.Request, rows: list[dict[str, Any]], default_limit: int = 25) -> dict[str, Any]:
    limit = int(request.query.get("limit", default_limit))
    offset = int(base64.b64decode(request.query["after"]).decode()) if request.query.get("after") else 0
    chunk = rows[offset : offset + limit]
    body: dict[str, Any] = {
        "data": chunk,
        "paging": {
            "cursors": {
                "before": base64.b64encode(str(offset).encode()).decode(),
                "after": base64.b64encode(str(offset + len(chunk)).encode()).decode(),
            }
        },
    }
    if offset + limit < len(rows):
        query = dict(request.query)
        query["after"] = body["paging"]["cursors"]["after"]
        body["paging"]["next"] = str(request.url.with_query(query))
    return body


async def meta_account(request: web.Request) -> web.Response:
    account = _meta_account(request)
    if (problem := _meta_guard(request, account)) is not None:
        return problem
    profile = _state(request).profile(META, account)
    return web.json_response(
        {
            "id": f"act_{account}",
            "account_id": account,
            "name": profile.name,
            "currency": profile.currency,
            "timezone_name": profile.time_zone,
        }
    )


def _meta_status(facts: CampaignFacts) -> str:
    return facts.status


async def meta_campaigns(request: web.Request) -> web.Response:
    account = _meta_account(request)
    if (problem := _meta_guard(request, account)) is not None:
        return problem
    profile = _state(request).profile(META, account)
    rows = [
        {
            "id": c.campaign_id,
            "name": c.name,
            "status": _meta_status(c),
            "configured_status": _meta_status(c),
            "effective_status": _meta_status(c),
            "objective": "OUTCOME_SALES",
            "buying_type": "AUCTION",
        }
        for c in campaigns(profile)
    ]
    return web.json_response(_page(request, rows))


async def meta_ads(request: web.Request) -> web.Response:
    account = _meta_account(request)
    if (problem := _meta_guard(request, account)) is not None:
        return problem
    profile = _state(request).profile(META, account)
    rows: list[dict[str, Any]] = []
    for c in campaigns(profile):
        static = {
            "id": f"{c.campaign_id}1",
            "name": f"{c.name} | static",
            "effective_status": c.status,
            "campaign_id": c.campaign_id,
            "adset_id": f"{c.campaign_id}5",
            "creative": {
                "id": f"{c.campaign_id}2",
                "name": "creative",
                "title": c.headline,
                "object_type": "SHARE",
                "object_story_spec": {
                    "page_id": "104000000000001",
                    "link_data": {"link": "https://shop.example.com/", "message": "Free returns.", "name": c.headline},
                },
            },
        }
        dynamic = {
            "id": f"{c.campaign_id}3",
            "name": f"{c.name} | dynamic",
            "effective_status": c.status,
            "campaign_id": c.campaign_id,
            "adset_id": f"{c.campaign_id}6",
            "creative": {
                "id": f"{c.campaign_id}4",
                "name": "dco",
                "object_type": "SHARE",
                "object_story_spec": {"page_id": "104000000000001"},
                "asset_feed_spec": {"titles": [{"text": c.headline}, {"text": "Linen That Breathes"}]},
            },
        }
        rows.extend([static, dynamic] if c.index % 2 == 0 else [dynamic])
    return web.json_response(_page(request, rows))


def _meta_actions(conversions: int, value: Any) -> dict[str, Any]:
    if conversions == 0:
        return {}
    counted = [
        {"action_type": t, "value": str(conversions)}
        for t in ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")
    ]
    valued = [
        {"action_type": t, "value": str(value)}
        for t in ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")
    ]
    return {"actions": [{"action_type": "link_click", "value": "1"}, *counted], "action_values": valued}


async def meta_insights(request: web.Request) -> web.Response:
    account = _meta_account(request)
    if (problem := _meta_guard(request, account)) is not None:
        return problem
    if request.query.get("level") != "campaign":
        return _meta_error(100, "(#100) The sandbox serves level=campaign insights only")
    try:
        time_range = json.loads(request.query["time_range"])
        start, end = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
    except (KeyError, ValueError):
        return _meta_error(100, "(#100) param time_range must be a JSON object with since and until")
    profile = _state(request).profile(META, account)
    await asyncio.sleep(profile.latency)
    increment = request.query.get("time_increment", "all_days")
    rows: list[dict[str, Any]] = []
    buckets = [(d, d) for d in _days(start, end)] if increment == "1" else [(start, end)]
    for bucket_start, bucket_end in buckets:
        for c in campaigns(profile):
            if increment == "1":
                stats = day_stats(profile, c, bucket_start)
                if stats is None:
                    continue
                spend, impressions, clicks, reach = stats.spend, stats.impressions, stats.clicks, stats.reach
                conversions, value = stats.conversions, stats.conversion_value
            else:
                window = period_reach(profile, c, bucket_start, bucket_end)
                if window is None:
                    continue
                reach, impressions = window
                days = [s for s in (day_stats(profile, c, d) for d in _days(bucket_start, bucket_end)) if s]
                spend = sum((s.spend for s in days), start=type(days[0].spend)(0))
                clicks = sum(s.clicks for s in days)
                conversions = sum(s.conversions for s in days)
                value = sum((s.conversion_value for s in days), start=type(days[0].spend)(0))
            row = {
                "campaign_id": c.campaign_id,
                "campaign_name": c.name,
                "account_currency": profile.currency,
                "spend": f"{spend}",
                "impressions": str(impressions),
                "reach": str(reach),
                "frequency": f"{impressions / reach:.6f}",
                "clicks": str(clicks),
                "ctr": f"{clicks / impressions * 100:.6f}",
                "date_start": bucket_start.isoformat(),
                "date_stop": bucket_end.isoformat(),
            }
            row.update(_meta_actions(conversions, value))
            rows.append(row)
    throttle = {"app_id_util_pct": 0.37, "acc_id_util_pct": 1.52, "ads_api_access_tier": "standard_access"}
    return web.json_response(_page(request, rows), headers={"x-fb-ads-insights-throttle": json.dumps(throttle)})


async def meta_dialog(request: web.Request) -> web.Response:
    return _authorize(request, META, code_param="code")


async def meta_access_token(request: web.Request) -> web.Response:
    state = _state(request)
    if request.query.get("grant_type") == "fb_exchange_token":
        old = request.query.get("fb_exchange_token", "")
        if old in state.dead_tokens or not old:
            return _meta_expired()
        return web.json_response(
            {"access_token": state.issue_token(META), "token_type": "bearer", "expires_in": 5183944}
        )
    grant = state.codes.pop(request.query.get("code", ""), None)
    if grant is None or grant["platform"] != META or grant["redirect_uri"] != request.query.get("redirect_uri"):
        return _meta_error(100, "Invalid verification code format.", subcode=36007)
    return web.json_response({"access_token": state.issue_token(META), "token_type": "bearer", "expires_in": 5183944})


# --- Google Ads ------------------------------------------------------------------------------------

_GOOGLE_STATUS = {"ACTIVE": "ENABLED", "PAUSED": "PAUSED", "ARCHIVED": "REMOVED"}


def _google_error(
    status: int, code: str, message: str, *, stream: bool, details: list[Any] | None = None
) -> web.Response:
    body: Any = {"error": {"code": status, "message": message, "status": code, "details": details or []}}
    return web.json_response([body] if stream else body, status=status)


def _google_guard(request: web.Request, customer: str, stream: bool) -> web.Response | None:
    state = _state(request)
    token = _token(request)
    if not token or not request.headers.get("developer-token"):
        return _google_error(
            401, "UNAUTHENTICATED", "Request is missing required authentication credential.", stream=stream
        )
    fault = state.next_fault(request, GOOGLE, customer)
    if fault == "expired_token":
        state.dead_tokens.add(token)
    if token in state.dead_tokens:
        return _google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential.",
            stream=stream,
        )
    if fault and fault.startswith("throttle"):
        details = [
            {
                "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors": [
                    {
                        "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                        "message": "Too many requests. Retry in 1 seconds.",
                        "details": {
                            "quotaErrorDetails": {
                                "rateScope": "DEVELOPER",
                                "rateName": "Number of operations for basic access",
                                "retryDelay": "1s",
                            }
                        },
                    }
                ],
                "requestId": "SbxRequest",
            }
        ]
        return _google_error(
            429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", stream=stream, details=details
        )
    return _generic_fault(fault) if fault else None


_BETWEEN = re.compile(r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I)
_FROM = re.compile(r"\bFROM\s+(\w+)", re.I)


def _google_rows(profile: AccountProfile, query: str) -> list[dict[str, Any]] | str:
    found = _FROM.search(query)
    resource = found[1].lower() if found else ""
    customer = {
        "resourceName": f"customers/{profile.account_id}",
        "currencyCode": profile.currency,
        "timeZone": profile.time_zone,
        "descriptiveName": profile.name,
        "id": profile.account_id,
    }
    if resource == "customer":
        return [{"customer": customer}]
    if resource != "campaign":
        return f"the sandbox answers FROM campaign or FROM customer, not {resource!r}"
    match = _BETWEEN.search(query)
    if match is None:
        return "a campaign query needs segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'"
    start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    rows = []
    for day in _days(start, end):
        for c in campaigns(profile):
            stats = day_stats(profile, c, day)
            if stats is None:
                continue  # Google omits rows whose metrics are all zero
            rows.append(
                {
                    "customer": {k: customer[k] for k in ("resourceName", "currencyCode", "timeZone")},
                    "campaign": {
                        "resourceName": f"customers/{profile.account_id}/campaigns/{c.campaign_id}",
                        "status": _GOOGLE_STATUS[c.status],
                        "name": c.name,
                        "id": c.campaign_id,
                    },
                    "metrics": {
                        "clicks": str(stats.clicks),
                        "conversionsValue": float(stats.conversion_value),
                        "conversions": float(stats.conversions) + (0.5 if stats.conversions % 3 == 1 else 0.0),
                        "costMicros": str(int(stats.spend * 1_000_000)),
                        "impressions": str(stats.impressions),
                    },
                    "segments": {"date": day.isoformat()},
                }
            )
    return rows


async def google_search(request: web.Request) -> web.Response:
    stream = request.match_info["method"] == "searchStream"
    customer = request.match_info["customer"]
    if (problem := _google_guard(request, customer, stream)) is not None:
        return problem
    try:
        body = await request.json()
        query = str(body["query"])
    except (ValueError, KeyError, TypeError):
        return _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload: query is required.", stream=stream)
    profile = _state(request).profile(GOOGLE, customer)
    await asyncio.sleep(profile.latency)
    rows = _google_rows(profile, query)
    if isinstance(rows, str):
        return _google_error(400, "INVALID_ARGUMENT", rows, stream=stream)
    mask = "campaign.id,campaign.name,campaign.status,segments.date,metrics.costMicros,metrics.impressions"
    page_size = int(request.app["google_page_size"])
    if stream:
        batches = [
            {"results": rows[i : i + page_size], "fieldMask": mask, "requestId": "SbxStream"}
            for i in range(0, max(len(rows), 1), page_size)
        ]
        batches[-1]["queryResourceConsumption"] = str(len(rows))
        return web.json_response(batches)
    offset = int(base64.b64decode(body["pageToken"]).decode()) if body.get("pageToken") else 0
    page: dict[str, Any] = {"results": rows[offset : offset + page_size], "fieldMask": mask}
    if offset + page_size < len(rows):
        page["nextPageToken"] = base64.b64encode(str(offset + page_size).encode()).decode()
    return web.json_response(page)


async def google_authorize(request: web.Request) -> web.Response:
    return _authorize(request, GOOGLE, code_param="code")


async def google_token(request: web.Request) -> web.Response:
    state = _state(request)
    form = await request.post()
    grant_type = form.get("grant_type")
    if grant_type == "refresh_token":
        if state.refresh_tokens.get(str(form.get("refresh_token"))) != GOOGLE:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status=400
            )
        return web.json_response(
            {
                "access_token": state.issue_token(GOOGLE),
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/adwords",
                "token_type": "Bearer",
            }
        )
    grant = state.codes.pop(str(form.get("code", "")), None)
    if grant is None or grant["platform"] != GOOGLE or grant["redirect_uri"] != form.get("redirect_uri"):
        return web.json_response({"error": "invalid_grant", "error_description": "Malformed auth code."}, status=400)
    challenge = grant.get("code_challenge")
    if challenge:
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != challenge:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid code verifier."}, status=400
            )
    refresh = f"sbx-refresh-{secrets.token_urlsafe(12)}"
    state.refresh_tokens[refresh] = GOOGLE
    return web.json_response(
        {
            "access_token": state.issue_token(GOOGLE),
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": "https://www.googleapis.com/auth/adwords",
            "token_type": "Bearer",
        }
    )


# --- TikTok ----------------------------------------------------------------------------------------


def _tiktok(code: int, message: str, data: Any = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "request_id": "2025SbxRequest", "data": data or {}})


def _tiktok_guard(request: web.Request, advertiser: str) -> web.Response | None:
    state = _state(request)
    token = _token(request, header="Access-Token")
    if not token:
        return _tiktok(40104, "Access token is null, please check.")
    fault = state.next_fault(request, TIKTOK, advertiser)
    if fault == "expired_token":
        state.dead_tokens.add(token)
    if token in state.dead_tokens:
        return _tiktok(40105, "Access token is incorrect or has been revoked.")
    if fault and fault.startswith("throttle"):
        return _tiktok(40100, "App reaches the QPS limit.")
    return _generic_fault(fault) if fault else None


def _json_param(request: web.Request, name: str) -> Any:
    try:
        return json.loads(request.query.get(name, "null"))
    except ValueError:
        return None


_TIKTOK_STATUS = {
    "ACTIVE": ("ENABLE", "CAMPAIGN_STATUS_ENABLE"),
    "PAUSED": ("DISABLE", "CAMPAIGN_STATUS_DISABLE"),
    "ARCHIVED": ("DISABLE", "CAMPAIGN_STATUS_DELETE"),
}


def _paged(request: web.Request, rows: list[Any]) -> dict[str, Any]:
    page, size = int(request.query.get("page", 1)), min(int(request.query.get("page_size", 10)), 1000)
    total_page = max(1, -(-len(rows) // size))
    return {
        "list": rows[(page - 1) * size : page * size],
        "page_info": {"page": page, "page_size": size, "total_number": len(rows), "total_page": total_page},
    }


async def tiktok_report(request: web.Request) -> web.Response:
    advertiser = request.query.get("advertiser_id", "")
    if (problem := _tiktok_guard(request, advertiser)) is not None:
        return problem
    dimensions = _json_param(request, "dimensions") or []
    try:
        start, end = date.fromisoformat(request.query["start_date"]), date.fromisoformat(request.query["end_date"])
    except (KeyError, ValueError):
        return _tiktok(40002, "start_date and end_date are required (YYYY-MM-DD).")
    daily = "stat_time_day" in dimensions
    if daily and (end - start).days + 1 > 30:
        return _tiktok(40002, "The time range cannot exceed 30 days when stat_time_day is a dimension.")
    profile = _state(request).profile(TIKTOK, advertiser)
    await asyncio.sleep(profile.latency)
    rows: list[dict[str, Any]] = []
    for c in campaigns(profile):
        if daily:
            for day in _days(start, end):
                stats = day_stats(profile, c, day)
                metrics = {
                    "campaign_name": c.name,
                    "spend": "0.00",
                    "impressions": "0",
                    "clicks": "0",
                    "ctr": "0.00",
                    "reach": "0",
                    "frequency": "-",
                    "conversion": "0",
                    "complete_payment_roas": "-",
                    "total_complete_payment_rate": "-",
                    "complete_payment": "0",
                    "total_purchase_value": "-",
                }
                if stats is not None:
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
                        metrics["total_purchase_value"] = f"{stats.conversion_value}"
                        metrics["complete_payment_roas"] = f"{stats.conversion_value / stats.spend:.2f}"
                rows.append(
                    {
                        "metrics": metrics,
                        "dimensions": {"campaign_id": c.campaign_id, "stat_time_day": f"{day.isoformat()} 00:00:00"},
                    }
                )
        else:
            window = period_reach(profile, c, start, end)
            reach, impressions = window if window else (0, 0)
            rows.append(
                {
                    "metrics": {
                        "campaign_name": c.name,
                        "reach": str(reach) if window else "-",
                        "impressions": str(impressions),
                    },
                    "dimensions": {"campaign_id": c.campaign_id},
                }
            )
    return _tiktok(0, "OK", _paged(request, rows))


async def tiktok_campaigns(request: web.Request) -> web.Response:
    advertiser = request.query.get("advertiser_id", "")
    if (problem := _tiktok_guard(request, advertiser)) is not None:
        return problem
    profile = _state(request).profile(TIKTOK, advertiser)
    rows = [
        {
            "advertiser_id": advertiser,
            "campaign_id": c.campaign_id,
            "campaign_name": c.name,
            "operation_status": _TIKTOK_STATUS[c.status][0],
            "secondary_status": _TIKTOK_STATUS[c.status][1],
            "objective_type": "WEB_CONVERSIONS",
            "budget": 250.0,
            "budget_mode": "BUDGET_MODE_DAY",
        }
        for c in campaigns(profile)
    ]
    return _tiktok(0, "OK", _paged(request, rows))


async def tiktok_advertiser(request: web.Request) -> web.Response:
    ids = _json_param(request, "advertiser_ids") or []
    if not ids:
        return _tiktok(40002, "advertiser_ids is required.")
    if (problem := _tiktok_guard(request, str(ids[0]))) is not None:
        return problem
    state = _state(request)
    found = [
        {
            "advertiser_id": str(a),
            "name": state.profile(TIKTOK, str(a)).name,
            "currency": state.profile(TIKTOK, str(a)).currency,
            "timezone": state.profile(TIKTOK, str(a)).time_zone,
        }
        for a in ids
    ]
    return _tiktok(0, "OK", {"list": found})


async def tiktok_authorize(request: web.Request) -> web.Response:
    return _authorize(request, TIKTOK, code_param="auth_code")


async def tiktok_access_token(request: web.Request) -> web.Response:
    state = _state(request)
    body = await request.json()
    grant = state.codes.pop(str(body.get("auth_code", "")), None)
    if grant is None or grant["platform"] != TIKTOK:
        return _tiktok(40110, "auth_code is invalid or has expired.")
    return _tiktok(0, "OK", _tiktok_tokens(state, [grant.get("account_id", "")]))


def _tiktok_tokens(state: SandboxState, advertisers: list[str]) -> dict[str, Any]:
    refresh = f"sbx-refresh-{secrets.token_urlsafe(12)}"
    state.refresh_tokens[refresh] = TIKTOK
    return {
        "access_token": state.issue_token(TIKTOK),
        "refresh_token": refresh,
        "access_token_expire_in": 86400,
        "refresh_token_expire_in": 31536000,
        "advertiser_ids": advertisers,
        "scope": [4],
    }


async def tiktok_refresh_token(request: web.Request) -> web.Response:
    state = _state(request)
    body = await request.json()
    old = str(body.get("refresh_token", ""))
    # Refresh tokens rotate: the old one is spent by this call.
    if state.refresh_tokens.pop(old, None) != TIKTOK:
        return _tiktok(40107, "refresh_token is invalid or has expired.")
    return _tiktok(0, "OK", _tiktok_tokens(state, []))


# --- OAuth consent (auto-approved) and control -----------------------------------------------------


def _authorize(request: web.Request, platform: str, *, code_param: str) -> web.Response:
    redirect_uri = request.query.get("redirect_uri") or request.query.get("redirect_url")
    if not redirect_uri:
        return web.json_response({"error": "redirect_uri is required"}, status=400)
    code = secrets.token_urlsafe(16)
    _state(request).codes[code] = {
        "platform": platform,
        "redirect_uri": redirect_uri,
        "code_challenge": request.query.get("code_challenge"),
        "account_id": request.query.get("sandbox_account", ""),
    }
    separator = "&" if "?" in redirect_uri else "?"
    target = f"{redirect_uri}{separator}{urlencode({code_param: code, 'state': request.query.get('state', '')})}"
    if request.query.get("sandbox_no_redirect"):
        return web.json_response({"redirect": target, code_param: code})
    raise web.HTTPFound(target)


async def control_faults(request: web.Request) -> web.Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
        state.dead_tokens.clear()
        return web.json_response({"cleared": True})
    body = await request.json()
    key = (str(body["platform"]), str(body["account_id"]))
    for fault in body.get("faults", []):
        if fault.split(":", 1)[0] not in FAULTS:
            return web.json_response({"error": f"unknown fault {fault!r}; known: {', '.join(FAULTS)}"}, status=400)
        state.faults[key].append(fault)
    return web.json_response({"queued": list(state.faults[key])})


async def control_accounts(request: web.Request) -> web.Response:
    state = _state(request)
    body = await request.json()
    platform, account_id = str(body["platform"]), str(body["account_id"])
    profile = state.profile(platform, account_id)
    known = ("campaigns", "currency", "time_zone", "name", "latency", "pause_every")
    changes = {k: body[k] for k in known if k in body}
    state.profiles[(platform, account_id)] = replace(profile, **changes)
    return web.json_response({"platform": platform, "account_id": account_id, **changes})


async def control_requests(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response({f"{p}/{a}": n for (p, a), n in state.requests.items()})


async def control_grant(request: web.Request) -> web.Response:
    """A refresh token for a platform, as if a person had consented (for seeding demo connections)."""
    state = _state(request)
    platform = request.match_info["platform"]
    refresh = f"sbx-refresh-{secrets.token_urlsafe(12)}"
    state.refresh_tokens[refresh] = platform
    return web.json_response({"access_token": state.issue_token(platform), "refresh_token": refresh})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@web.middleware
async def meta_usage_header(request: web.Request, handler: Any) -> web.StreamResponse:
    """Meta reports business-use-case usage on every Marketing API answer."""
    response: web.StreamResponse = await handler(request)
    match = re.search(r"/act_(\d+)", request.path)
    if match and "x-business-use-case-usage" not in response.headers:
        usage = {
            match[1]: [
                {
                    "type": "ads_insights",
                    "call_count": 4,
                    "total_cputime": 2,
                    "total_time": 3,
                    "estimated_time_to_regain_access": 0,
                    "ads_api_access_tier": "standard_access",
                }
            ]
        }
        response.headers["x-business-use-case-usage"] = json.dumps(usage)
    return response


def create_sandbox_app(*, google_page_size: int = 10_000) -> web.Application:
    """The sandbox app; ``google_page_size`` below 10,000 makes small data paginate."""
    app = web.Application(middlewares=[meta_usage_header])
    app["state"] = SandboxState()
    app["google_page_size"] = google_page_size
    r = app.router
    r.add_get("/healthz", healthz)
    r.add_route("*", "/_sandbox/faults", control_faults)
    r.add_post("/_sandbox/accounts", control_accounts)
    r.add_get("/_sandbox/requests", control_requests)
    r.add_post("/_sandbox/grants/{platform}", control_grant)
    r.add_get("/meta/dialog/oauth", meta_dialog)
    r.add_get("/meta/{version}/oauth/access_token", meta_access_token)
    r.add_get("/meta/{version}/act_{account}/insights", meta_insights)
    r.add_get("/meta/{version}/act_{account}/campaigns", meta_campaigns)
    r.add_get("/meta/{version}/act_{account}/ads", meta_ads)
    r.add_get("/meta/{version}/act_{account}", meta_account)
    r.add_post("/google-ads/{version}/customers/{customer}/googleAds:{method}", google_search)
    r.add_get("/google-oauth/auth", google_authorize)
    r.add_post("/google-oauth/token", google_token)
    r.add_get("/tiktok/portal/auth", tiktok_authorize)
    r.add_get("/tiktok/open_api/v1.3/report/integrated/get/", tiktok_report)
    r.add_get("/tiktok/open_api/v1.3/campaign/get/", tiktok_campaigns)
    r.add_get("/tiktok/open_api/v1.3/advertiser/info/", tiktok_advertiser)
    r.add_post("/tiktok/open_api/v1.3/oauth2/access_token/", tiktok_access_token)
    r.add_post("/tiktok/open_api/v1.3/oauth2/refresh_token/", tiktok_refresh_token)
    return app


def run_sandbox(host: str, port: int, *, google_page_size: int = 10_000) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(create_sandbox_app(google_page_size=google_page_size), host=host, port=port, print=None)
