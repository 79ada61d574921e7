"""Meta Ads: the Graph API's Marketing API (ad accounts, campaigns, ads, insights) and Facebook Login.

Under ``/meta``: ``/dialog/oauth``, ``/{version}/oauth/access_token``, ``/{version}/me/adaccounts`` and
``/{version}/act_{account}[/insights|/campaigns|/ads]``. Every answer reports the app's usage
(``x-app-usage``), account answers the business-use-case usage (``x-business-use-case-usage``), insights
answers ``x-fb-ads-insights-throttle``. A test sets the reported usage with ``POST /_sandbox/meta/app-usage``.

Tokens live as Meta's do: the code exchange gives a short-lived user token; exchanging it
(``grant_type=fb_exchange_token``) gives a long-lived one; exchanging a long-lived user token again keeps
its expiry (a person must log in again); a system user's token is renewed for another 60 days.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import math
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.bodies import bad_request, json_object
from clientpulse.platform_sandbox.credentials import authorize, presented_token
from clientpulse.platform_sandbox.data import (
    AD_SHARES,
    AdShare,
    CampaignFacts,
    DayStats,
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
from clientpulse.platform_sandbox.state import WHOLE_APP, SandboxState, TokenState, state_of

PLATFORM = "meta_ads"
FAULTS = {
    "throttle_17": Argument.OPTIONAL_MINUTES,  # code 17 (user request limit); with minutes, remembered
    "throttle_wait": Argument.MINUTES,  # code 80000 remembered for the account until the minutes pass
    # code 80000 stating the minutes, for this one request only (tests whose clock runs faster than the sandbox's)
    "throttle_once": Argument.MINUTES,
    "app_limit": Argument.MINUTES,  # code 4: every account of the app refused until the minutes pass
}
# Short-lived user tokens last "about an hour or two"; a long-lived one about 60 days (Meta's example value).
SHORT_LIVED_SECONDS = 3600
LONG_LIVED_SECONDS = 5_183_944
GRANT_KINDS = {"user": LONG_LIVED_SECONDS, "system_user": LONG_LIVED_SECONDS}
# The ad accounts the person behind a sandbox token can see (accounts a test configures are added).
VISIBLE_ACCOUNTS = ("1001001", "1003003")
# Usage reported when a test set none: far from any limit.
QUIET_USAGE: dict[str, float] = {
    "call_count": 2,
    "total_cputime": 1,
    "total_time": 1,
    "app_id_util_pct": 0.37,
    "acc_id_util_pct": 1.52,
}
_APP_USAGE_KEYS = ("call_count", "total_cputime", "total_time")
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
_THROTTLE_MESSAGES = {
    "throttle": (80000, "(#80000) There have been too many calls from this ad-account. Wait a bit and try again."),
    "throttle_wait": (80000, "(#80000) There have been too many calls from this ad-account. Wait a bit and try again."),
    "throttle_17": (17, "(#17) User request limit reached"),
    "throttle_once": (80000, "(#80000) There have been too many calls from this ad-account. Wait a bit and try again."),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    headers: dict[str, str] | None = None,
    transient: bool = False,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "SbxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return web.json_response({"error": error}, status=status, headers=headers)


def _expired() -> web.Response:
    message = "Error validating access token: Session has expired on Wednesday, 14-Feb-18 18:00:00 PST."
    return _error(190, message, subcode=463)


def _usage(state: SandboxState) -> dict[str, float]:
    return {**QUIET_USAGE, **state.reported_usage.get(PLATFORM, {})}


def _throttled(account: str | None, fault_name: str, minutes: int) -> web.Response:
    """An account-level throttle (business-use-case limit) saying when access returns."""
    code, message = _THROTTLE_MESSAGES[fault_name]
    usage = {
        "type": "ads_management" if code == 17 else "ads_insights",
        "call_count": 100,
        "total_cputime": 38,
        "total_time": 61,
        "estimated_time_to_regain_access": minutes,
        "ads_api_access_tier": "standard_access",
    }
    throttle = {"app_id_util_pct": 14.2, "acc_id_util_pct": 100, "ads_api_access_tier": "standard_access"}
    headers = {
        "x-business-use-case-usage": json.dumps({account or "0": [usage]}),
        "x-fb-ads-insights-throttle": json.dumps(throttle),
    }
    return _error(code, message, subcode=2446079, headers=headers)


def _app_limited(*, insights: bool) -> web.Response:
    """The app-wide limit: every account of the app is refused."""
    headers = {"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 45, "total_time": 60})}
    if insights:
        throttle = {"app_id_util_pct": 100, "acc_id_util_pct": 10, "ads_api_access_tier": "standard_access"}
        headers["x-fb-ads-insights-throttle"] = json.dumps(throttle)
    subcode = 1504022 if insights else None
    return _error(4, "(#4) Application request limit reached", subcode=subcode, headers=headers)


def _guard(request: web.Request, account: str | None, *, insights: bool = False) -> web.Response | None:
    """Meta's refusal of this request, or None to answer it: token, app-wide and account limits, faults."""
    state = state_of(request)
    token = presented_token(request)
    if not token:
        return _error(104, "An access token is required to request this resource.")
    fault = state.next_fault(request, PLATFORM, account, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    if state.token_state(token) in (TokenState.REVOKED, TokenState.EXPIRED):
        return _expired()
    if state.refusal(PLATFORM, WHOLE_APP) is not None:
        return _app_limited(insights=insights)
    if account is not None and (refusal := state.refusal(PLATFORM, account)) is not None:
        return _throttled(account, refusal.fault.name, refusal.minutes_left(state.now()))
    if fault is None or fault.name in ("none", "expired_token"):
        return None
    return _fault_answer(state, fault, account, insights=insights)


def _fault_answer(state: SandboxState, fault: Fault, account: str | None, *, insights: bool) -> web.Response | None:
    if fault.name == "app_limit":
        state.refuse(PLATFORM, WHOLE_APP, fault, fault.argument or 1)
        return _app_limited(insights=insights)
    if fault.name in _THROTTLE_MESSAGES:
        if fault.argument is None:
            return _throttled(account, fault.name, 0)
        if account is None or fault.name == "throttle_once":
            return _throttled(account, fault.name, max(1, math.ceil(fault.argument)))
        refusal = state.refuse(PLATFORM, account, fault, fault.argument)
        return _throttled(account, fault.name, refusal.minutes_left(state.now()))
    return generic_answer(fault)


def _reporting_usage(*, insights: bool = False) -> Callable[[Handler], Handler]:
    """Adds the usage headers Meta puts on its answers (unless the answer set its own)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def answer(request: web.Request) -> web.StreamResponse:
            response = await handler(request)
            usage = _usage(state_of(request))
            response.headers.setdefault("x-app-usage", json.dumps({k: usage[k] for k in _APP_USAGE_KEYS}))
            account = request.match_info.get("account")
            if account:
                account_usage = {
                    "type": "ads_insights",
                    "call_count": 4,
                    "total_cputime": 2,
                    "total_time": 3,
                    "estimated_time_to_regain_access": 0,
                    "ads_api_access_tier": "standard_access",
                }
                response.headers.setdefault("x-business-use-case-usage", json.dumps({account: [account_usage]}))
            if insights:
                throttle = {
                    "app_id_util_pct": usage["app_id_util_pct"],
                    "acc_id_util_pct": usage["acc_id_util_pct"],
                    "ads_api_access_tier": "standard_access",
                }
                response.headers.setdefault("x-fb-ads-insights-throttle", json.dumps(throttle))
            return response

        return answer

    return wrap


def _page(request: web.Request, rows: list[dict[str, Any]], default_limit: int = 25) -> dict[str, Any]:
    """Rows as a Graph API page with ``paging.cursors`` and ``paging.next``."""
    try:
        limit = int(request.query.get("limit", default_limit))
        offset = int(base64.b64decode(request.query["after"]).decode()) if request.query.get("after") else 0
    except ValueError:
        raise bad_request("limit must be a number and after a cursor of this sandbox") from None
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


@_reporting_usage()
async def ad_account(request: web.Request) -> web.StreamResponse:
    account = request.match_info["account"]
    if (problem := _guard(request, account)) is not None:
        return problem
    profile = state_of(request).profile(PLATFORM, account)
    return web.json_response(
        {
            "id": f"act_{account}",
            "account_id": account,
            "name": profile.name,
            "currency": profile.currency,
            "timezone_name": profile.time_zone,
        }
    )


@_reporting_usage()
async def ad_accounts(request: web.Request) -> web.StreamResponse:
    """``/me/adaccounts``: the ad accounts the token's person can see, with the fields asked for."""
    if (problem := _guard(request, None)) is not None:
        return problem
    state = state_of(request)
    fields = [f for f in request.query.get("fields", "account_id,name,currency,timezone_name").split(",") if f]
    rows = []
    for account in dict.fromkeys([*VISIBLE_ACCOUNTS, *state.configured_accounts(PLATFORM)]):
        profile = state.profile(PLATFORM, account)
        known = {
            "account_id": account,
            "name": profile.name,
            "currency": profile.currency,
            "timezone_name": profile.time_zone,
        }
        rows.append({**{f: known[f] for f in fields if f in known}, "id": f"act_{account}"})
    return web.json_response(_page(request, rows))


@_reporting_usage()
async def campaign_list(request: web.Request) -> web.StreamResponse:
    account = request.match_info["account"]
    if (problem := _guard(request, account)) is not None:
        return problem
    profile = state_of(request).profile(PLATFORM, account)
    rows = [
        {
            "id": c.campaign_id,
            "name": c.name,
            "status": c.status,
            "configured_status": c.status,
            "effective_status": c.status,
            "objective": "OUTCOME_SALES",
            "buying_type": "AUCTION",
        }
        for c in campaigns(profile)
    ]
    return web.json_response(_page(request, rows))


def _ads_of(c: CampaignFacts) -> list[dict[str, Any]]:
    """A campaign's ads: a static creative (headline in ``title``) on even campaigns, a dynamic one on all."""
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
            "body": "Free returns.",
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
            "asset_feed_spec": {
                "titles": [{"text": c.headline}, {"text": "Linen That Breathes"}],
                "bodies": [{"text": "Breathable linen for hot days. Shop the new colours."}],
            },
        },
    }
    return [static, dynamic] if c.index % 2 == 0 else [dynamic]


@_reporting_usage()
async def ad_list(request: web.Request) -> web.StreamResponse:
    account = request.match_info["account"]
    if (problem := _guard(request, account)) is not None:
        return problem
    profile = state_of(request).profile(PLATFORM, account)
    return web.json_response(_page(request, [ad for c in campaigns(profile) for ad in _ads_of(c)]))


def _actions(conversions: int, value: Decimal) -> dict[str, Any]:
    if conversions == 0:
        return {}
    purchase_types = ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")
    counted = [{"action_type": t, "value": str(conversions)} for t in purchase_types]
    valued = [{"action_type": t, "value": str(value)} for t in purchase_types]
    return {"actions": [{"action_type": "link_click", "value": "1"}, *counted], "action_values": valued}


def _ad_shares(c: CampaignFacts) -> list[AdShare]:
    """How a campaign's day is split among its ads (``_ads_of``): the static ad takes the larger share."""
    return list(AD_SHARES) if len(_ads_of(c)) == 2 else [AdShare(1, 1, 1, 1)]


def _ad_rows(currency: str, days: list[tuple[CampaignFacts, date, DayStats | None]]) -> list[dict[str, Any]]:
    """``level=ad`` rows: each ad's part of its campaign's day (the parts add up to the campaign's row)."""
    rows = []
    for c, day, stats in days:
        if stats is None:
            continue
        for ad, part in zip(_ads_of(c), split_day(stats, _ad_shares(c)), strict=True):
            row = {
                "ad_id": ad["id"],
                "ad_name": ad["name"],
                "campaign_id": c.campaign_id,
                "account_currency": currency,
                "spend": f"{part.spend}",
                "impressions": str(part.impressions),
                "clicks": str(part.clicks),
                "date_start": day.isoformat(),
                "date_stop": day.isoformat(),
            }
            row.update(_actions(part.conversions, part.conversion_value))
            rows.append(row)
    return rows


@_reporting_usage(insights=True)
async def insights(request: web.Request) -> web.StreamResponse:
    """Campaign insights per day (``time_increment=1``) or over the whole window (``all_days``, with the
    window's reach: people, not the sum of the days)."""
    account = request.match_info["account"]
    if (problem := _guard(request, account, insights=True)) is not None:
        return problem
    level = request.query.get("level")
    if level not in ("campaign", "ad"):
        return _error(100, "(#100) The sandbox serves level=campaign and level=ad insights only")
    try:
        time_range = json.loads(request.query["time_range"])
        start, end = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
    except (KeyError, ValueError, TypeError):
        return _error(100, "(#100) param time_range must be a JSON object with since and until")
    profile = state_of(request).profile(PLATFORM, account)
    await asyncio.sleep(profile.latency)
    daily = request.query.get("time_increment", "all_days") == "1"
    if level == "ad":
        if not daily:
            return _error(100, "(#100) The sandbox serves level=ad insights per day (time_increment=1) only")
        days = [(c, d, day_stats(profile, c, d)) for d in days_between(start, end) for c in campaigns(profile)]
        return web.json_response(_page(request, _ad_rows(profile.currency, days)))
    buckets = [(d, d) for d in days_between(start, end)] if daily else [(start, end)]
    rows: list[dict[str, Any]] = []
    for bucket_start, bucket_end in buckets:
        for c in campaigns(profile):
            stats = day_stats(profile, c, bucket_start) if daily else window_stats(profile, c, bucket_start, bucket_end)
            if stats is None:
                continue
            row = {
                "campaign_id": c.campaign_id,
                "campaign_name": c.name,
                "account_currency": profile.currency,
                "spend": f"{stats.spend}",
                "impressions": str(stats.impressions),
                "reach": str(stats.reach),
                "frequency": f"{stats.impressions / stats.reach:.6f}",
                "clicks": str(stats.clicks),
                "ctr": f"{stats.clicks / stats.impressions * 100:.6f}",
                "date_start": bucket_start.isoformat(),
                "date_stop": bucket_end.isoformat(),
            }
            row.update(_actions(stats.conversions, stats.conversion_value))
            rows.append(row)
    return web.json_response(_page(request, rows))


async def dialog(request: web.Request) -> web.Response:
    return authorize(request, PLATFORM, code_param="code")


def _token_fault_answer(state: SandboxState, fault: Fault, exchanged: str) -> web.Response | None:
    if fault.name == "token_rate_limit":
        headers = {"Retry-After": fault.retry_after()}
        return _error(4, "(#4) Application request limit reached", status=429, headers=headers, transient=True)
    if fault.name == "token_server_error":
        return _error(
            2, "An unexpected error has occurred. Please retry your request later.", status=503, transient=True
        )
    if fault.name == "invalid_client":
        return _error(101, "Error validating application. Invalid application ID.")
    if fault.name == "invalid_grant":
        if exchanged:
            state.revoked_tokens.add(exchanged)
        return _expired()
    return generic_answer(fault)


def _exchange(state: SandboxState, token: str) -> web.Response:
    """``grant_type=fb_exchange_token``: a long-lived token for a short-lived one (see the module's docstring)."""
    issued = state.tokens.get(token)
    status = state.token_state(token)
    if issued is None or issued.platform != PLATFORM or status is TokenState.UNKNOWN:
        return _error(190, "Invalid OAuth access token - Cannot parse access token")
    if status is not TokenState.LIVE:
        return _expired()
    now = state.now()
    if issued.kind == "user":
        # Exchanging a long-lived user token does not extend it: the person has to log in again.
        left = None if issued.expires_at is None else issued.expires_at - now
        fresh, renewed = state.issue_token(PLATFORM, kind="user", lifetime=left)
    elif issued.kind == "system_user":
        fresh, renewed = state.issue_token(PLATFORM, kind="system_user", lifetime=LONG_LIVED_SECONDS)
    else:
        fresh, renewed = state.issue_token(PLATFORM, kind="user", lifetime=LONG_LIVED_SECONDS)
    body: dict[str, Any] = {"access_token": fresh, "token_type": "bearer"}
    if (seconds := renewed.seconds_left(now)) is not None:
        body["expires_in"] = seconds
    return web.json_response(body)


async def access_token(request: web.Request) -> web.Response:
    """``/oauth/access_token``: the code exchange (a short-lived user token) or ``fb_exchange_token``."""
    state = state_of(request)
    exchanged = request.query.get("fb_exchange_token", "")
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    if fault is not None and (problem := _token_fault_answer(state, fault, exchanged)) is not None:
        return problem
    if request.query.get("grant_type") == "fb_exchange_token":
        return _exchange(state, exchanged)
    grant = state.codes.pop(request.query.get("code", ""), None)
    if grant is None or grant["platform"] != PLATFORM or grant["redirect_uri"] != request.query.get("redirect_uri"):
        return _error(100, "Invalid verification code format.", subcode=36007)
    token, _ = state.issue_token(PLATFORM, kind="user_short", lifetime=SHORT_LIVED_SECONDS)
    return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": SHORT_LIVED_SECONDS})


async def control_app_usage(request: web.Request) -> web.Response:
    """``POST /_sandbox/meta/app-usage``: the usage later answers report (``x-app-usage``, insights'
    ``app_id_util_pct``), without refusing anything; ``DELETE /_sandbox/faults`` resets it."""
    body = await json_object(request)
    unknown = sorted(set(body) - set(QUIET_USAGE))
    if unknown:
        raise bad_request(f"unknown usage fields {unknown}; known: {', '.join(QUIET_USAGE)}")
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad_request(f"{name!r} must be a number of at least 0")
    state = state_of(request)
    state.reported_usage[PLATFORM] = {**state.reported_usage.get(PLATFORM, {}), **body}
    return web.json_response(_usage(state))


def add_routes(router: web.UrlDispatcher) -> None:
    """Meta's routes under ``/meta`` and its usage control route."""
    router.add_get("/meta/dialog/oauth", dialog)
    router.add_get("/meta/{version}/oauth/access_token", access_token)
    router.add_get("/meta/{version}/me/adaccounts", ad_accounts)
    router.add_get("/meta/{version}/act_{account}/insights", insights)
    router.add_get("/meta/{version}/act_{account}/campaigns", campaign_list)
    router.add_get("/meta/{version}/act_{account}/ads", ad_list)
    router.add_get("/meta/{version}/act_{account}", ad_account)
    router.add_post("/_sandbox/meta/app-usage", control_app_usage)
