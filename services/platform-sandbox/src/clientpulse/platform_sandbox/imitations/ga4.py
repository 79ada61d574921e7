"""GA4: the Google Analytics Data API v1beta (``runReport``, ``batchRunReports``), the Admin API's
property, and Google's OAuth endpoints for the Analytics scope.

Under ``/ga4/data``, ``/ga4/admin`` and ``/ga4/oauth``. Reports answer in positional rows (headers,
then values as strings), ``date`` as ``YYYYMMDD`` in the property's time zone, ``limit``/``offset``
pages (at most ``--google-page-size`` rows each), ``rowCount`` and, when asked, ``propertyQuota``.
Every property has its channel groups' sessions, engaged sessions, new users, key events (sometimes
fractional), transactions and purchase revenue per day, and users: people, so the users of a window
are fewer than the sum of its days' users (the same people come back).

Faults: ``throttle`` is the concurrent-requests exhaustion (seconds); ``quota_hourly`` and
``quota_daily`` exhaust the property's hourly or daily tokens (refused until they return);
``quota_low`` answers with the hourly tokens nearly spent; ``permission_denied`` is the 403 of a
user who lost access to the property.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.bodies import json_object
from clientpulse.platform_sandbox.credentials import authorize, presented_token
from clientpulse.platform_sandbox.data import days_between
from clientpulse.platform_sandbox.faults import (
    ACCOUNT_FAULTS,
    TOKEN_ACCOUNT,
    TOKEN_FAULTS,
    Argument,
    Fault,
    generic_answer,
)
from clientpulse.platform_sandbox.state import OPTIONS, SandboxState, TokenState, state_of

PLATFORM = "ga4"
FAULTS: dict[str, Argument] = {
    "quota_hourly": Argument.NONE,
    "quota_daily": Argument.NONE,
    "quota_low": Argument.NONE,
    "permission_denied": Argument.NONE,
}
ACCESS_TOKEN_SECONDS = 3599
GRANT_KINDS = {"access": ACCESS_TOKEN_SECONDS}
SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
# The property the demo connects (any numeric id works; this one is named in the README's demo).
DEMO_PROPERTY = "314159265"
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
CHANNEL_GROUPS = (
    "Organic Search",
    "Direct",
    "Paid Search",
    "Paid Social",
    "Email",
    "Referral",
    "Organic Social",
    "Unassigned",
)
_SETUPS = (("USD", "America/New_York"), ("EUR", "Europe/Berlin"), ("GBP", "Europe/London"), ("AUD", "Australia/Sydney"))
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "keyEvents": "TYPE_FLOAT",
    "transactions": "TYPE_INTEGER",
    "purchaseRevenue": "TYPE_CURRENCY",
}
DIMENSIONS = ("date", "sessionDefaultChannelGroup")
MAX_RANGES, MAX_BATCH, MAX_LIMIT = 4, 5, 250_000
# Quotas of a standard property (Data API "Limits and quotas"); each report here costs ten tokens.
QUOTA_LIMITS = {
    "tokensPerDay": 200_000,
    "tokensPerHour": 40_000,
    "concurrentRequests": 10,
    "serverErrorsPerProjectPerHour": 10,
    "potentiallyThresholdedRequestsPerHour": 120,
    "tokensPerProjectPerHour": 14_000,
}
TOKENS_PER_REPORT = 10
_EXHAUSTED = {
    "throttle": "Exhausted concurrent requests quota.",
    "quota_hourly": "Exhausted property tokens per hour. These quota tokens will return in under an hour.",
    "quota_daily": "Exhausted property tokens per day. These quota tokens will return in under 24 hours.",
}
# How long an exhausted hourly or daily quota keeps refusing (minutes).
_REFUSAL_MINUTES = {"quota_hourly": 60, "quota_daily": 24 * 60}
_PERMISSION_MESSAGE = "User does not have sufficient permissions for this property."


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in (PLATFORM, *parts)).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


@dataclass(frozen=True, slots=True)
class Property:
    """A sandbox GA4 property: its setup and the channel groups its visitors come through."""

    property_id: str
    name: str
    currency: str
    time_zone: str
    groups: tuple[str, ...]
    scale: int
    latency: float


def property_of(state: SandboxState, property_id: str) -> Property:
    """The property as a test configured it (name, currency, time zone, latency), else from its id."""
    rng = _rng("property", property_id)
    currency, time_zone = _SETUPS[0] if property_id == DEMO_PROPERTY else rng.choice(_SETUPS)
    name, latency = f"Sandbox GA4 {property_id}", 0.0
    if (PLATFORM, property_id) in state.profiles:
        profile = state.profiles[(PLATFORM, property_id)]
        name, currency, time_zone, latency = profile.name, profile.currency, profile.time_zone, profile.latency
    groups = tuple(CHANNEL_GROUPS[: 5 + rng.randrange(len(CHANNEL_GROUPS) - 4)])
    return Property(property_id, name, currency, time_zone, groups, 200 + rng.randrange(1800), latency)


@dataclass(frozen=True, slots=True)
class Traffic:
    """One channel group's day: additive figures, and the day's users (people, not additive)."""

    sessions: int
    engaged_sessions: int
    new_users: int
    users: int
    key_events: Decimal
    transactions: int
    revenue: Decimal


_NO_TRAFFIC = Traffic(0, 0, 0, 0, Decimal(0), 0, Decimal(0))


def traffic(prop: Property, group: str, day: date) -> Traffic:
    """A channel group's day. Email brings visitors on weekdays only (the other days have no rows)."""
    if group == "Email" and day.weekday() >= 5:
        return _NO_TRAFFIC
    rng = _rng("day", prop.property_id, group, day.isoformat())
    share = 1.0 / (1 + CHANNEL_GROUPS.index(group))
    sessions = max(1, int(prop.scale * share * (0.7 + rng.random() * 0.6)))
    users = max(1, int(sessions * (0.8 + rng.random() * 0.15)))
    transactions = int(sessions * (0.005 + rng.random() * 0.025))
    # Key events: purchases and sign-ups; a sign-up shared with another property's stream counts half.
    key_events = Decimal(transactions + rng.randrange(5)) + (Decimal("0.5") if rng.random() < 0.3 else 0)
    revenue = Decimal(transactions) * Decimal(f"{40 + rng.random() * 80:.2f}")
    return Traffic(
        sessions=sessions,
        engaged_sessions=int(sessions * (0.45 + rng.random() * 0.25)),
        new_users=int(users * (0.3 + rng.random() * 0.4)),
        users=users,
        key_events=key_events,
        transactions=transactions,
        revenue=revenue.quantize(Decimal("0.01")),
    )


def _people(counts: list[int], overlap: float) -> int:
    """People over several days or groups: the largest count plus a share of the others (some return)."""
    if not counts:
        return 0
    largest = max(counts)
    return largest + int((sum(counts) - largest) * overlap)


def metric_text(prop: Property, metric: str, days: list[date], groups: tuple[str, ...]) -> str:
    """One metric over days and channel groups, as GA4 writes it (a string)."""
    if metric == "totalUsers":
        per_group = [_people([traffic(prop, g, d).users for d in days], 0.55) for g in groups]
        return str(_people(per_group, 0.9))
    field = {
        "sessions": "sessions",
        "engagedSessions": "engaged_sessions",
        "newUsers": "new_users",
        "keyEvents": "key_events",
        "transactions": "transactions",
        "purchaseRevenue": "revenue",
    }[metric]
    total = sum((Decimal(getattr(traffic(prop, g, d), field)) for g in groups for d in days), start=Decimal(0))
    return format(total.normalize(), "f") if total else "0"


def _error(status: int, code: str, message: str) -> web.Response:
    """A google.rpc.Status answer."""
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


class InvalidArgument(Exception):
    """A report request the Data API refuses with 400 INVALID_ARGUMENT."""


def _ranges(raw: Any) -> list[tuple[str, date, date]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RANGES:
        raise InvalidArgument(f"A report takes 1 to {MAX_RANGES} dateRanges.")
    found = []
    for index, item in enumerate(raw):
        try:
            start, end = date.fromisoformat(str(item["startDate"])), date.fromisoformat(str(item["endDate"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument("dateRanges take startDate and endDate as YYYY-MM-DD in the sandbox.") from None
        if start > end:
            raise InvalidArgument(f"Invalid date range: startDate {start} is after endDate {end}.")
        name = str(item.get("name") or f"date_range_{index}")
        if item.get("name") and name.startswith(("date_range_", "RESERVED_")):
            raise InvalidArgument(f"Date range name {name} cannot begin with date_range_ or RESERVED_.")
        found.append((name, start, end))
    return found


def _fields(raw: Any, known: Any, what: str) -> list[str]:
    names = [str(item.get("name", "")) for item in raw or [] if isinstance(item, dict)]
    for name in names:
        if name not in known:
            raise InvalidArgument(f"Field {name} is not a valid {what}. Did you mean one of: {', '.join(known)}?")
    return names


def _page_bounds(request: web.Request, body: dict[str, Any]) -> tuple[int, int]:
    try:
        limit, offset = int(body.get("limit") or 10_000), int(body.get("offset") or 0)
    except (TypeError, ValueError):
        raise InvalidArgument("limit and offset must be integers.") from None
    if limit < 0 or offset < 0 or limit > MAX_LIMIT:
        raise InvalidArgument(f"limit must be from 0 to {MAX_LIMIT} and offset at least 0.")
    return min(limit or 10_000, request.app[OPTIONS].google_page_size), offset


def _rows(prop: Property, body: dict[str, Any]) -> tuple[list[str], list[str], list[list[str]], list[list[str]]]:
    """Every row of a report request: (dimension names, metric names, dimension values, metric values)."""
    ranges = _ranges(body.get("dateRanges"))
    dimensions = _fields(body.get("dimensions"), DIMENSIONS, "dimension")
    metrics = _fields(body.get("metrics"), METRIC_TYPES, "metric")
    if not metrics or len(metrics) > 10:
        raise InvalidArgument("A report takes 1 to 10 metrics.")
    headers = [*dimensions, "dateRange"] if len(ranges) > 1 else dimensions
    found: list[tuple[list[str], list[str]]] = []
    for name, start, end in ranges:
        window = days_between(start, end)
        spans = [[d] for d in window] if "date" in dimensions else [window]
        parts = [(g,) for g in prop.groups] if "sessionDefaultChannelGroup" in dimensions else [prop.groups]
        for days in spans:
            for groups in parts:
                values = {
                    "date": days[0].strftime("%Y%m%d"),
                    "sessionDefaultChannelGroup": groups[0],
                    "dateRange": name,
                }
                metric_values = [metric_text(prop, m, days, groups) for m in metrics]
                if body.get("keepEmptyRows") or any(v != "0" for v in metric_values):
                    found.append(([values[h] for h in headers], metric_values))
    _order(found, body.get("orderBys"), headers, metrics)
    return headers, metrics, [d for d, _ in found], [m for _, m in found]


def _order(rows: list[tuple[list[str], list[str]]], order_bys: Any, headers: list[str], metrics: list[str]) -> None:
    """Sort rows by the request's orderBys (last first, so the first one decides; sorts are stable)."""
    for order in reversed(order_bys or []):
        dimension = (order.get("dimension") or {}).get("dimensionName")
        metric = (order.get("metric") or {}).get("metricName")
        if dimension in headers:
            at = headers.index(dimension)
            rows.sort(key=lambda row: row[0][at], reverse=bool(order.get("desc")))
        elif metric in metrics:
            at = metrics.index(metric)
            rows.sort(key=lambda row: Decimal(row[1][at]), reverse=bool(order.get("desc")))


def _quota(state: SandboxState, property_id: str, fault: Fault | None) -> dict[str, Any]:
    consumed = state.requests[(PLATFORM, property_id)] * TOKENS_PER_REPORT
    quota = {}
    for name, limit in QUOTA_LIMITS.items():
        # Tokens come back over time: a long-running sandbox never spends more than half of a quota
        # (only ``quota_low`` brings one near its end). Requests here neither overlap nor fail.
        used = min(consumed, limit // 2) if name.startswith("tokens") else 0
        quota[name] = {"consumed": used, "remaining": limit - used}
    if fault is not None and fault.name == "quota_low":
        quota["tokensPerHour"] = {"consumed": 39_950, "remaining": 50}
    return quota


def report_answer(request: web.Request, prop: Property, body: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
    """A ``RunReportResponse``: one page of the report's rows."""
    headers, metrics, dimension_rows, metric_rows = _rows(prop, body)
    limit, offset = _page_bounds(request, body)
    answer: dict[str, Any] = {
        "dimensionHeaders": [{"name": h} for h in headers],
        "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in metrics],
        "rows": [
            {"dimensionValues": [{"value": v} for v in d], "metricValues": [{"value": v} for v in m]}
            for d, m in zip(dimension_rows[offset : offset + limit], metric_rows[offset : offset + limit], strict=True)
        ],
        "metadata": {"currencyCode": prop.currency, "timeZone": prop.time_zone},
        "kind": "analyticsData#runReport",
    }
    if dimension_rows:  # like any zero in proto3 JSON, a rowCount of 0 is left out
        answer["rowCount"] = len(dimension_rows)
    else:
        del answer["rows"]
    if body.get("returnPropertyQuota"):
        answer["propertyQuota"] = _quota(state_of(request), prop.property_id, fault)
    return answer


def _guard(request: web.Request, property_id: str) -> tuple[web.Response | None, Fault | None]:
    """Google's refusal of this request (or None to answer it), and the fault it drew."""
    state = state_of(request)
    token = presented_token(request)
    if not token:
        return _error(401, "UNAUTHENTICATED", "Request is missing required authentication credential."), None
    refusal = state.refusal(PLATFORM, property_id)
    fault = refusal.fault if refusal is not None else state.next_fault(request, PLATFORM, property_id, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(token)
    if state.token_state(token) in (TokenState.REVOKED, TokenState.EXPIRED):
        message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
        return _error(401, "UNAUTHENTICATED", message), None
    if fault is None or fault.name in ("none", "expired_token", "quota_low"):
        return None, fault
    if fault.name in _EXHAUSTED:
        if fault.name in _REFUSAL_MINUTES and refusal is None:
            state.refuse(PLATFORM, property_id, fault, _REFUSAL_MINUTES[fault.name])
        return _error(429, "RESOURCE_EXHAUSTED", _EXHAUSTED[fault.name]), fault
    if fault.name == "permission_denied":
        return _error(403, "PERMISSION_DENIED", _PERMISSION_MESSAGE), fault
    return generic_answer(fault), fault


async def _report_call(request: web.Request) -> tuple[Property, dict[str, Any], Fault | None] | web.Response:
    property_id = request.match_info["property"]
    problem, fault = _guard(request, property_id)
    if problem is not None:
        return problem
    prop = property_of(state_of(request), property_id)
    await asyncio.sleep(prop.latency)
    return prop, await json_object(request), fault


async def run_report(request: web.Request) -> web.Response:
    """``POST properties/{id}:runReport``."""
    call = await _report_call(request)
    if isinstance(call, web.Response):
        return call
    prop, body, fault = call
    try:
        return web.json_response(report_answer(request, prop, body, fault))
    except InvalidArgument as problem:
        return _error(400, "INVALID_ARGUMENT", str(problem))


async def batch_run_reports(request: web.Request) -> web.Response:
    """``POST properties/{id}:batchRunReports``: up to five reports of the property in one answer."""
    call = await _report_call(request)
    if isinstance(call, web.Response):
        return call
    prop, body, fault = call
    requests = body.get("requests")
    if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_BATCH:
        return _error(400, "INVALID_ARGUMENT", f"A batch takes 1 to {MAX_BATCH} requests.")
    try:
        reports = []
        for item in requests:
            if item.get("property") not in (None, "", f"properties/{prop.property_id}"):
                raise InvalidArgument("The property of every request in a batch must be the batch's property.")
            reports.append(report_answer(request, prop, item, fault))
    except InvalidArgument as problem:
        return _error(400, "INVALID_ARGUMENT", str(problem))
    return web.json_response({"reports": reports, "kind": "analyticsData#batchRunReports"})


async def property_metadata(request: web.Request) -> web.Response:
    """Admin API ``GET properties/{id}``: the property's name, currency and reporting time zone."""
    property_id = request.match_info["property"]
    problem, _ = _guard(request, property_id)
    if problem is not None:
        return problem
    prop = property_of(state_of(request), property_id)
    return web.json_response(
        {
            "name": f"properties/{property_id}",
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "parent": "accounts/100200300",
            "displayName": prop.name,
            "industryCategory": "SHOPPING",
            "timeZone": prop.time_zone,
            "currencyCode": prop.currency,
            "serviceLevel": "GOOGLE_ANALYTICS_STANDARD",
            "createTime": "2023-03-01T09:00:00.000Z",
            "updateTime": "2025-01-15T12:00:00.000Z",
        }
    )


async def consent(request: web.Request) -> web.Response:
    return authorize(request, PLATFORM, code_param="code")


def _oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status, headers=headers)


def _token_fault_answer(fault: Fault, state: SandboxState, presented: str) -> web.Response | None:
    if fault.name == "token_rate_limit":
        return _oauth_error(429, "rate_limit_exceeded", "Rate limit exceeded.", {"Retry-After": fault.retry_after()})
    if fault.name == "token_server_error":
        return _oauth_error(503, "temporarily_unavailable", "The service is currently unavailable.")
    if fault.name == "invalid_client":
        return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if fault.name == "invalid_grant":
        state.refresh_tokens.pop(presented, None)
        return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
    return generic_answer(fault)


def _access(access_token: str, refresh: str | None = None) -> dict[str, Any]:
    body = {"access_token": access_token, "expires_in": ACCESS_TOKEN_SECONDS, "scope": SCOPE, "token_type": "Bearer"}
    return body if refresh is None else {**body, "refresh_token": refresh}


def _verifier_matches(challenge: str | None, verifier: str) -> bool:
    if not challenge:
        return True
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return digest == challenge


async def token(request: web.Request) -> web.Response:
    """``POST /ga4/oauth/token``: ``refresh_token`` and ``authorization_code`` (with PKCE) grants."""
    state = state_of(request)
    form = await request.post()
    presented = str(form.get("refresh_token", ""))
    fault = state.next_fault(request, PLATFORM, TOKEN_ACCOUNT, TOKEN_FAULTS)
    if fault is not None and (problem := _token_fault_answer(fault, state, presented)) is not None:
        return problem
    if form.get("grant_type") == "refresh_token":
        if state.refresh_tokens.get(presented) != PLATFORM:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        return web.json_response(_access(state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)[0]))
    grant = state.codes.pop(str(form.get("code", "")), None)
    if grant is None or grant["platform"] != PLATFORM or grant["redirect_uri"] != form.get("redirect_uri"):
        return _oauth_error(400, "invalid_grant", "Malformed auth code.")
    if not _verifier_matches(grant.get("code_challenge"), str(form.get("code_verifier", ""))):
        return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
    access_token, _ = state.issue_token(PLATFORM, lifetime=ACCESS_TOKEN_SECONDS)
    return web.json_response(_access(access_token, state.issue_refresh_token(PLATFORM)))


def add_routes(router: web.UrlDispatcher) -> None:
    """GA4's routes under ``/ga4``."""
    router.add_post("/ga4/data/v1beta/properties/{property:[^/:]+}:runReport", run_report)
    router.add_post("/ga4/data/v1beta/properties/{property:[^/:]+}:batchRunReports", batch_run_reports)
    router.add_get("/ga4/admin/v1beta/properties/{property:[^/:]+}", property_metadata)
    router.add_get("/ga4/oauth/auth", consent)
    router.add_post("/ga4/oauth/token", token)
