"""Google Ads: the REST API's ``googleAds:search`` / ``googleAds:searchStream`` over GAQL,
``customers:listAccessibleCustomers``, and Google's OAuth endpoints.

Under ``/google-ads/{version}`` and ``/google-oauth``. The GAQL understood: ``FROM customer``,
``FROM customer_client`` (a manager's hierarchy) and ``FROM campaign`` with
``WHERE segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'`` — one row per campaign and day when
``segments.date`` is selected, one row per campaign over the range otherwise; ``FROM ad_group_ad`` gives
each responsive search ad's headlines, descriptions and day (its parts add up to its campaign's day).

One manager account (``MANAGER_ACCOUNT``) manages ``MANAGED_ACCOUNTS``; a request for a managed account
must name the manager in ``login-customer-id``, as the real API requires. Every other account id is
reachable directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import date
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.credentials import authorize, presented_token
from clientpulse.platform_sandbox.data import (
    AccountProfile,
    CampaignFacts,
    DayStats,
    campaigns,
    day_stats,
    days_between,
    split_counts,
    window_stats,
)
from clientpulse.platform_sandbox.data import ads_of as sandbox_ads
from clientpulse.platform_sandbox.faults import (
    ACCOUNT_FAULTS,
    TOKEN_ACCOUNT,
    TOKEN_FAULTS,
    Argument,
    Fault,
    generic_answer,
)
from clientpulse.platform_sandbox.state import OPTIONS, TokenState, state_of

PLATFORM = "google_ads"
FAULTS: dict[str, Argument] = {}
ACCESS_TOKEN_SECONDS = 3599
GRANT_KINDS = {"access": ACCESS_TOKEN_SECONDS}

MANAGER_ACCOUNT = "9000000001"
MANAGER_NAME = "Sandbox Agency MCC"
MANAGED_ACCOUNTS = ("2002002002", "2002002003")
# metrics.unique_users: "can only be requested for date ranges of 92 days or less", and only Display,
# Video, Discovery and App campaigns report it.
UNIQUE_USERS_MAX_DAYS = 92
_REACH_CHANNELS = frozenset({"DISPLAY", "VIDEO"})
# Campaign n's channel: the fatigued campaigns (n % 3 == 1, see data.campaign) are video campaigns.
_CHANNELS = ("SEARCH", "VIDEO", "DISPLAY")
_STATUS = {"ACTIVE": "ENABLED", "PAUSED": "PAUSED", "ARCHIVED": "REMOVED"}
_PERMISSION_MESSAGE = (
    "User doesn't have permission to access customer. Note: If you're accessing a client customer, the "
    "manager's customer id must be set in the 'login-customer-id' header. See "
    "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid"
)
_VOCABULARY = ACCOUNT_FAULTS | FAULTS

_SELECT = re.compile(r"^\s*SELECT\s+(.*?)\s+FROM\s+(\w+)", re.I | re.S)
_BETWEEN = re.compile(r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I)
_LEVEL = re.compile(r"customer_client\.level\s*(<=|<|=)\s*(\d+)", re.I)


class QueryRefused(Exception):
    """A GAQL query the API refuses: its ``errorCode`` and message."""

    def __init__(self, error_code: dict[str, str], message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def _error(
    status: int,
    code: str,
    message: str,
    *,
    stream: bool,
    version: str = "v21",
    failures: list[dict[str, Any]] | None = None,
) -> web.Response:
    """A google.rpc.Status answer; ``failures`` become a GoogleAdsFailure in its details."""
    details = []
    if failures:
        details.append(
            {
                "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
                "errors": failures,
                "requestId": "SbxRequest",
            }
        )
    body: Any = {"error": {"code": status, "message": message, "status": code, "details": details}}
    return web.json_response([body] if stream else body, status=status)


def _guard(request: web.Request, customer: str | None, *, stream: bool = False) -> web.Response | None:
    """Google's refusal of this request, or None to answer it."""
    state = state_of(request)
    version = request.match_info.get("version", "v21")
    token = presented_token(request)
    if not token or not request.headers.get("developer-token"):
        return _error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", stream=stream)
    fault = state.next_fault(request, PLATFORM, customer, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    if state.token_state(token) in (TokenState.REVOKED, TokenState.EXPIRED):
        return _error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential.",
            stream=stream,
        )
    login = request.headers.get("login-customer-id", "").replace("-", "").strip()
    if customer in MANAGED_ACCOUNTS and login != MANAGER_ACCOUNT:
        failure = {"errorCode": {"authorizationError": "USER_PERMISSION_DENIED"}, "message": _PERMISSION_MESSAGE}
        return _error(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            stream=stream,
            version=version,
            failures=[failure],
        )
    if fault is None or fault.name in ("none", "expired_token"):
        return None
    if fault.name == "throttle":
        failure = {
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
        return _error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            stream=stream,
            version=version,
            failures=[failure],
        )
    return generic_answer(fault)


def _camel(field: str) -> str:
    """A GAQL field as the REST JSON names it (``metrics.cost_micros`` → ``metrics.costMicros``)."""
    return ".".join(re.sub(r"_([a-z])", lambda m: m[1].upper(), part) for part in field.split("."))


def _channel(facts: CampaignFacts) -> str:
    return _CHANNELS[facts.index % len(_CHANNELS)]


def _profile(request: web.Request, customer: str) -> AccountProfile:
    state = state_of(request)
    profile = state.profile(PLATFORM, customer)
    if customer == MANAGER_ACCOUNT and (PLATFORM, customer) not in state.profiles:
        return AccountProfile(PLATFORM, customer, MANAGER_NAME, profile.currency, profile.time_zone, campaigns=0)
    return profile


def _customer(profile: AccountProfile) -> dict[str, Any]:
    return {
        "resourceName": f"customers/{profile.account_id}",
        "currencyCode": profile.currency,
        "timeZone": profile.time_zone,
        "descriptiveName": profile.name,
        "id": profile.account_id,
        "manager": profile.account_id == MANAGER_ACCOUNT,
    }


def _customer_clients(request: web.Request, customer: str, query: str) -> list[dict[str, Any]]:
    """``FROM customer_client``: the account itself at level 0 and, for the manager, its clients at level 1."""
    entries = [(customer, 0)]
    if customer == MANAGER_ACCOUNT:
        entries += [(client, 1) for client in MANAGED_ACCOUNTS]
    if found := _LEVEL.search(query):
        operator, bound = found[1], int(found[2])
        keep = {"<=": lambda level: level <= bound, "<": lambda level: level < bound, "=": lambda level: level == bound}
        entries = [(client, level) for client, level in entries if keep[operator](level)]
    rows = []
    for client, level in entries:
        profile = _profile(request, client)
        rows.append(
            {
                "customerClient": {
                    "resourceName": f"customers/{customer}/customerClients/{client}",
                    "clientCustomer": f"customers/{client}",
                    "id": client,
                    "descriptiveName": profile.name,
                    "manager": client == MANAGER_ACCOUNT,
                    "level": str(level),
                    "currencyCode": profile.currency,
                    "timeZone": profile.time_zone,
                    "status": "ENABLED",
                }
            }
        )
    return rows


def _campaign_metrics(facts: CampaignFacts, days: list[DayStats], reach: int, unique_users: bool) -> dict[str, Any]:
    # Google counts fractional conversions (data-driven attribution): some days carry half a conversion.
    conversions = sum(float(d.conversions) + (0.5 if d.conversions % 3 == 1 else 0.0) for d in days)
    metrics: dict[str, Any] = {
        "clicks": str(sum(d.clicks for d in days)),
        "conversionsValue": float(sum(d.conversion_value for d in days)),
        "conversions": conversions,
        "costMicros": str(int(sum(d.spend for d in days) * 1_000_000)),
        "impressions": str(sum(d.impressions for d in days)),
    }
    if unique_users:
        metrics["uniqueUsers"] = str(reach) if _channel(facts) in _REACH_CHANNELS else "0"
    return metrics


def _campaign_rows(profile: AccountProfile, select: list[str], query: str) -> list[dict[str, Any]]:
    if profile.account_id == MANAGER_ACCOUNT:
        if any(field.startswith("metrics.") for field in select):
            raise QueryRefused(
                {"queryError": "REQUESTED_METRICS_FOR_MANAGER"},
                "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate requests "
                "against each client account under the manager account.",
            )
        return []
    match = _BETWEEN.search(query)
    if match is None:
        raise QueryRefused(
            {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"},
            "a campaign query needs segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'",
        )
    start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    unique_users = "metrics.unique_users" in select
    if unique_users and (end - start).days + 1 > UNIQUE_USERS_MAX_DAYS:
        raise QueryRefused(
            {"queryError": "DATE_RANGE_TOO_WIDE"},
            f"metrics.unique_users can only be requested for date ranges of {UNIQUE_USERS_MAX_DAYS} days or less.",
        )
    customer = {k: v for k, v in _customer(profile).items() if k in ("resourceName", "currencyCode", "timeZone")}

    def row(c: CampaignFacts, days: list[DayStats], reach: int) -> dict[str, Any]:
        return {
            "customer": customer,
            "campaign": {
                "resourceName": f"customers/{profile.account_id}/campaigns/{c.campaign_id}",
                "status": _STATUS[c.status],
                "name": c.name,
                "id": c.campaign_id,
                "advertisingChannelType": _channel(c),
            },
            "metrics": _campaign_metrics(c, days, reach, unique_users),
        }

    rows = []
    if "segments.date" in select:
        for day in days_between(start, end):
            for c in campaigns(profile):
                # Google leaves out rows whose metrics are all zero.
                if (stats := day_stats(profile, c, day)) is not None:
                    rows.append({**row(c, [stats], stats.reach), "segments": {"date": day.isoformat()}})
        return rows
    for c in campaigns(profile):
        window = window_stats(profile, c, start, end)
        if window is not None:
            delivered = [s for s in (day_stats(profile, c, d) for d in days_between(start, end)) if s is not None]
            rows.append(row(c, delivered, window.reach))
    return rows


def _ad_metrics(campaign_day: dict[str, Any], weights: list[list[int]]) -> list[dict[str, Any]]:
    """A campaign's day metrics split among its ads (conversions in halves, value in cents): parts add up."""
    cost = split_counts(int(campaign_day["costMicros"]), weights[0])
    impressions = split_counts(int(campaign_day["impressions"]), weights[1])
    clicks = split_counts(int(campaign_day["clicks"]), weights[2])
    halves = split_counts(round(campaign_day["conversions"] * 2), weights[3])
    cents = split_counts(round(campaign_day["conversionsValue"] * 100), halves)
    return [
        {
            "clicks": str(clicks[i]),
            "conversionsValue": cents[i] / 100,
            "conversions": halves[i] / 2,
            "costMicros": str(cost[i]),
            "impressions": str(impressions[i]),
        }
        for i in range(len(cost))
    ]


def _ad_group_ad_rows(profile: AccountProfile, query: str) -> list[dict[str, Any]]:
    """``FROM ad_group_ad`` per day: each responsive search ad with its copy and its part of the campaign's day."""
    match = _BETWEEN.search(query)
    if match is None:
        raise QueryRefused(
            {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"},
            "an ad_group_ad query needs segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'",
        )
    start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    rows = []
    for day in days_between(start, end):
        for c in campaigns(profile):
            if (stats := day_stats(profile, c, day)) is None:
                continue
            ads = sandbox_ads(c)
            shares = [a.share for a in ads]
            weights = [[s.spend for s in shares], [s.impressions for s in shares], [s.clicks for s in shares],
                       [s.conversions for s in shares]]  # fmt: skip
            parts = _ad_metrics(_campaign_metrics(c, [stats], stats.reach, False), weights)
            for ad, metrics in zip(ads, parts, strict=True):
                rows.append(
                    {
                        "campaign": {"resourceName": f"customers/{profile.account_id}/campaigns/{c.campaign_id}",
                                     "id": c.campaign_id},
                        "adGroupAd": {
                            "resourceName": f"customers/{profile.account_id}/adGroupAds/{c.campaign_id}5~{ad.ad_id}",
                            "status": _STATUS[c.status],
                            "ad": {
                                "resourceName": f"customers/{profile.account_id}/ads/{ad.ad_id}",
                                "id": ad.ad_id,
                                "name": ad.name,
                                "responsiveSearchAd": {
                                    "headlines": [{"text": h} for h in ad.headlines],
                                    "descriptions": [{"text": b} for b in ad.bodies],
                                },
                            },
                        },
                        "metrics": metrics,
                        "segments": {"date": day.isoformat()},
                    }
                )  # fmt: skip
    return rows


def _rows(request: web.Request, customer: str, query: str) -> tuple[list[dict[str, Any]], str]:
    """The rows a GAQL query selects and its field mask."""
    parsed = _SELECT.search(query)
    if parsed is None:
        raise QueryRefused({"queryError": "EXPECTED_SELECT"}, "the query must read SELECT <fields> FROM <resource>")
    select = [field.strip().lower() for field in parsed[1].split(",") if field.strip()]
    resource = parsed[2].lower()
    mask = ",".join(_camel(field) for field in select)
    profile = _profile(request, customer)
    if resource == "customer":
        return [{"customer": _customer(profile)}], mask
    if resource == "customer_client":
        return _customer_clients(request, customer, query), mask
    if resource == "campaign":
        return _campaign_rows(profile, select, query), mask
    if resource == "ad_group_ad":
        return _ad_group_ad_rows(profile, query), mask
    raise QueryRefused(
        {"queryError": "QUERY_ERROR"},
        f"the sandbox answers FROM campaign, customer or customer_client, not {resource!r}",
    )


async def search(request: web.Request) -> web.Response:
    """``googleAds:search`` (pages of ``google_page_size`` rows) and ``googleAds:searchStream``."""
    stream = request.match_info["method"] == "searchStream"
    customer = request.match_info["customer"]
    version = request.match_info["version"]
    if (problem := _guard(request, customer, stream=stream)) is not None:
        return problem
    try:
        body = await request.json()
        query = str(body["query"])
    except (ValueError, KeyError, TypeError):
        return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload: query is required.", stream=stream)
    await asyncio.sleep(_profile(request, customer).latency)
    try:
        rows, mask = _rows(request, customer, query)
    except QueryRefused as refused:
        failure = {"errorCode": refused.error_code, "message": refused.message}
        return _error(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            stream=stream,
            version=version,
            failures=[failure],
        )
    page_size = request.app[OPTIONS].google_page_size
    if stream:
        batches: list[dict[str, Any]] = [
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


async def accessible_customers(request: web.Request) -> web.Response:
    """``customers:listAccessibleCustomers``: the accounts the token reaches directly (not the manager's clients)."""
    if (problem := _guard(request, None)) is not None:
        return problem
    configured = [a for a in state_of(request).configured_accounts(PLATFORM) if a not in MANAGED_ACCOUNTS]
    direct = dict.fromkeys([MANAGER_ACCOUNT, *configured])
    return web.json_response({"resourceNames": [f"customers/{account}" for account in direct]})


async def consent(request: web.Request) -> web.Response:
    return authorize(request, PLATFORM, code_param="code")


def _oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status, headers=headers)


def _token_fault_answer(fault: Fault, refresh_tokens: dict[str, str], presented: str) -> web.Response | None:
    if fault.name == "token_rate_limit":
        headers = {"Retry-After": fault.retry_after()}
        return _oauth_error(429, "rate_limit_exceeded", "Rate limit exceeded.", headers)
    if fault.name == "token_server_error":
        return _oauth_error(503, "temporarily_unavailable", "The service is currently unavailable.")
    if fault.name == "invalid_client":
        return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if fault.name == "invalid_grant":
        refresh_tokens.pop(presented, None)
        return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
    return generic_answer(fault)


def _access(access_token: str, refresh: str | None = None) -> dict[str, Any]:
    body = {
        "access_token": access_token,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": "https://www.googleapis.com/auth/adwords",
        "token_type": "Bearer",
    }
    return body if refresh is None else {**body, "refresh_token": refresh}


async def token(request: web.Request) -> web.Response:
    """``POST /google-oauth/token``: ``refresh_token`` and ``authorization_code`` (with PKCE) grants."""
    state = state_of(request)
    form = await request.post()
    presented = str(form.get("refresh_token", ""))
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    if fault is not None and (problem := _token_fault_answer(fault, state.refresh_tokens, presented)) is not None:
        return problem
    if form.get("grant_type") == "refresh_token":
        if state.refresh_tokens.get(presented) != PLATFORM:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        access_token, _ = state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)
        return web.json_response(_access(access_token))
    grant = state.codes.pop(str(form.get("code", "")), None)
    if grant is None or grant["platform"] != PLATFORM or grant["redirect_uri"] != form.get("redirect_uri"):
        return _oauth_error(400, "invalid_grant", "Malformed auth code.")
    challenge = grant.get("code_challenge")
    if challenge:
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != challenge:
            return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
    access_token, _ = state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)
    return web.json_response(_access(access_token, state.issue_refresh_token(PLATFORM)))


def add_routes(router: web.UrlDispatcher) -> None:
    """Google's routes under ``/google-ads`` and ``/google-oauth``."""
    router.add_post("/google-ads/{version}/customers/{customer}/googleAds:{method}", search)
    router.add_get("/google-ads/{version}/customers:listAccessibleCustomers", accessible_customers)
    router.add_get("/google-oauth/auth", consent)
    router.add_post("/google-oauth/token", token)
