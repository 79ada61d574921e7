"""Klaviyo's Reporting API: campaign values, flow series (daily) and flow values, validated as Klaviyo
validates them (statistics, timeframe of at most a year, 60 days for a daily series, a known
conversion metric, group-bys and filters) and answered from the account's deterministic program."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from clientpulse.platform_sandbox.data import AccountProfile, days_between
from clientpulse.platform_sandbox.imitations.klaviyo.data import (
    EmailStats,
    account_metrics,
    campaign_stats,
    campaigns_between,
    flow_day_stats,
    flows,
    statistic,
)
from clientpulse.platform_sandbox.imitations.klaviyo.guard import JSON_API, Refused, authorize, invalid, profile_of

MAX_TIMEFRAME_DAYS = 366
MAX_DAILY_SERIES_DAYS = 60
STATISTICS = frozenset(
    [
        "average_order_value",
        "bounce_rate",
        "bounced",
        "click_rate",
        "click_to_open_rate",
        "clicks",
        "clicks_unique",
        "conversion_rate",
        "conversion_uniques",
        "conversion_value",
        "conversions",
        "delivered",
        "delivery_rate",
        "open_rate",
        "opens",
        "opens_unique",
        "recipients",
        "revenue_per_recipient",
        "spam_complaint_rate",
        "spam_complaints",
        "unsubscribe_rate",
        "unsubscribe_uniques",
        "unsubscribes",
    ]
)
PRESETS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90, "last_365_days": 365, "yesterday": 1}
RATE_LIMIT_HEADERS = {"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "44"}
_VALUE = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_TERM = re.compile(r"(equals|contains-any)\((\w+),(\[[^\]]*\]|\"[^\"]*\"|'[^']*')\)")


@dataclass(frozen=True, slots=True)
class ReportKind:
    """A report type: what it groups by (what it requires), and the ids a filter can name."""

    name: str
    group_bys: tuple[str, ...]
    required: tuple[str, ...]
    default: tuple[str, ...]


CAMPAIGN_VALUES = ReportKind(
    "campaign-values-report",
    ("campaign_id", "campaign_message_id", "campaign_message_name", "send_channel"),
    ("campaign_id", "campaign_message_id"),
    ("campaign_id", "campaign_message_id", "send_channel"),
)
FLOW_GROUP_BYS = ("flow_id", "flow_message_id", "flow_message_name", "flow_name", "send_channel")
FLOW_REQUIRED = ("flow_id", "flow_message_id")
FLOW_DEFAULT = ("flow_id", "flow_message_id", "send_channel")
FLOW_SERIES = ReportKind("flow-series-report", FLOW_GROUP_BYS, FLOW_REQUIRED, FLOW_DEFAULT)
FLOW_VALUES = ReportKind("flow-values-report", FLOW_GROUP_BYS, FLOW_REQUIRED, FLOW_DEFAULT)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A validated report request: its account, statistics, account-local days, group-bys and filter."""

    profile: AccountProfile
    statistics: list[str]
    start: date
    end: date
    group_by: tuple[str, ...]
    filters: dict[str, set[str]]


def timeframe_days(raw: Any, time_zone: str) -> tuple[date, date]:
    """A timeframe's first and last account-local day (the offset is ignored; both ends included)."""
    if not isinstance(raw, dict):
        raise invalid('\'timeframe\' is required: {"key": …} or {"start": …, "end": …}.')
    if "key" in raw:
        if raw["key"] not in PRESETS:
            raise invalid(f"Unsupported timeframe key {raw['key']!r}.")
        today = datetime.now(ZoneInfo(time_zone)).date()
        return today - timedelta(days=PRESETS[raw["key"]]), today - timedelta(days=1)
    try:
        start, end = datetime.fromisoformat(str(raw["start"])), datetime.fromisoformat(str(raw["end"]))
    except (KeyError, ValueError):
        raise invalid("'timeframe' needs 'start' and 'end' as ISO 8601 date-times.") from None
    first, last = start.replace(tzinfo=None).date(), end.replace(tzinfo=None).date()
    if last < first:
        raise invalid("The timeframe's end is before its start.")
    if (last - first).days + 1 > MAX_TIMEFRAME_DAYS:
        raise invalid("The timeframe cannot be longer than 1 year.")
    return first, last


def parse_filter(text: str | None, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    """``equals`` / ``contains-any`` terms joined by ``and``: attribute → accepted values."""
    if not text:
        return {}
    inner = text[4:-1] if text.startswith("and(") and text.endswith(")") else text
    terms = _TERM.findall(inner)
    if not terms or _TERM.sub("", inner).replace(",", "").strip():
        raise invalid(f"Invalid filter: {text}")
    found: dict[str, set[str]] = {}
    for _, attribute, raw in terms:
        if attribute not in allowed:
            raise invalid(f"Cannot filter on {attribute!r}.")
        found[attribute] = {double or single for double, single in _VALUE.findall(raw)}
    return found


def passes(filters: Mapping[str, set[str]], attributes: Mapping[str, str]) -> bool:
    """Whether a campaign message or flow message is in the filtered report."""
    return all(attributes.get(name) in values for name, values in filters.items())


def _statistics(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise invalid("'statistics' must be a non-empty list of statistic names.")
    unknown = [s for s in raw if s not in STATISTICS]
    if unknown:
        raise invalid(f"Unknown statistics: {', '.join(unknown)}.")
    return list(raw)


def _group_by(raw: Any, kind: ReportKind) -> tuple[str, ...]:
    if raw is None:
        return kind.default
    if not isinstance(raw, list) or any(g not in kind.group_bys for g in raw):
        raise invalid(f"'group_by' takes {', '.join(kind.group_bys)}.")
    missing = [g for g in kind.required if g not in raw]
    if missing:
        raise invalid(f"'group_by' must include {', '.join(missing)}.")
    return tuple(raw)


async def read_request(request: web.Request, account: str, kind: ReportKind) -> tuple[ReportRequest, dict[str, Any]]:
    """The report request of ``request``, validated, with its raw attributes (``Refused`` when invalid)."""
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The request body must be JSON.") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != kind.name or not isinstance(data.get("attributes"), dict):
        raise invalid(f'The body must be {{"data": {{"type": "{kind.name}", "attributes": …}}}}.')
    attributes = data["attributes"]
    metric = attributes.get("conversion_metric_id")
    if not metric:
        raise invalid("'conversion_metric_id' is required.")
    if metric not in {m["id"] for m in account_metrics(account)}:
        raise invalid(f"Metric {metric} does not exist in this account.")
    profile = profile_of(request, account)
    start, end = timeframe_days(attributes.get("timeframe"), profile.time_zone)
    allowed = (*kind.group_bys, "campaign_message_id")
    report = ReportRequest(
        profile=profile,
        statistics=_statistics(attributes.get("statistics")),
        start=start,
        end=end,
        group_by=_group_by(attributes.get("group_by"), kind),
        filters=parse_filter(attributes.get("filter"), allowed),
    )
    await asyncio.sleep(profile.latency)
    return report, attributes


def _answer(
    request: web.Request, kind: ReportKind, attributes: dict[str, Any], related: dict[str, Any]
) -> web.Response:
    base = str(request.url.with_query(None))
    relationships = {
        name: {
            "data": [{"type": singular, "id": i} for i in ids],
            "links": {"self": f"{base}relationships/{name}/", "related": f"{base}{name}/"},
        }
        for name, (singular, ids) in related.items()
    }
    body = {
        "data": {"type": kind.name, "attributes": attributes, "relationships": relationships},
        "links": {"self": base},
    }
    return web.json_response(body, headers=RATE_LIMIT_HEADERS, content_type=JSON_API)


async def campaign_values(request: web.Request) -> web.Response:
    """``POST /api/campaign-values-reports/``: each campaign message sent in the timeframe, all its numbers."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    try:
        report, _ = await read_request(request, account, CAMPAIGN_VALUES)
    except Refused as refused:
        return refused.answer()
    results, ids = [], []
    for campaign in campaigns_between(report.profile, report.start, report.end):
        described = {
            "campaign_id": campaign.campaign_id,
            "campaign_message_id": campaign.message_id,
            "campaign_message_name": campaign.name,
            "send_channel": campaign.channel,
        }
        if not passes(report.filters, described):
            continue
        stats = campaign_stats(report.profile, campaign)
        results.append(
            {
                "groupings": {g: described[g] for g in report.group_by},
                "statistics": {s: statistic(stats, s) for s in report.statistics},
            }
        )
        ids.append(campaign.campaign_id)
    return _answer(request, CAMPAIGN_VALUES, {"results": results}, {"campaigns": ("campaign", ids)})


def _flow_messages(report: ReportRequest) -> list[tuple[dict[str, str], list[EmailStats]]]:
    """Each flow message the filter lets through, with its numbers per day of the timeframe."""
    days = days_between(report.start, report.end)
    found = []
    for flow in flows(report.profile):
        for number, (message_id, channel) in enumerate(flow.messages):
            described = {
                "flow_id": flow.flow_id,
                "flow_message_id": message_id,
                "flow_message_name": f"{flow.name} - message {number + 1}",
                "flow_name": flow.name,
                "send_channel": channel,
            }
            if passes(report.filters, described):
                daily = [flow_day_stats(report.profile, flow, message_id, channel, day) for day in days]
                found.append((described, daily))
    return found


def _flow_relationships(messages: list[tuple[dict[str, str], list[EmailStats]]]) -> dict[str, Any]:
    flow_ids = list(dict.fromkeys(m["flow_id"] for m, _ in messages))
    return {"flows": ("flow", flow_ids), "flow-messages": ("flow-message", [m["flow_message_id"] for m, _ in messages])}


async def flow_series(request: web.Request) -> web.Response:
    """``POST /api/flow-series-reports/``: each flow message's numbers per account-local day (daily only)."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    try:
        report, attributes = await read_request(request, account, FLOW_SERIES)
        if attributes.get("interval") != "daily":
            raise invalid("'interval' is required; this sandbox serves 'daily' series.")
        if (report.end - report.start).days + 1 > MAX_DAILY_SERIES_DAYS:
            raise invalid("If daily is used, the timeframe cannot be longer than 60 days.")
    except Refused as refused:
        return refused.answer()
    messages = _flow_messages(report)
    results = [
        {
            "groupings": {g: described[g] for g in report.group_by},
            "statistics": {s: [statistic(d, s) for d in daily] for s in report.statistics},
        }
        for described, daily in messages
    ]
    stamps = [f"{day.isoformat()}T00:00:00+00:00" for day in days_between(report.start, report.end)]
    return _answer(request, FLOW_SERIES, {"results": results, "date_times": stamps}, _flow_relationships(messages))


async def flow_values(request: web.Request) -> web.Response:
    """``POST /api/flow-values-reports/``: each flow message's numbers over the timeframe."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    try:
        report, _ = await read_request(request, account, FLOW_VALUES)
    except Refused as refused:
        return refused.answer()
    messages = _flow_messages(report)
    results = []
    for described, daily in messages:
        total = sum(daily, start=EmailStats())
        results.append(
            {
                "groupings": {g: described[g] for g in report.group_by},
                "statistics": {s: statistic(total, s) for s in report.statistics},
            }
        )
    return _answer(request, FLOW_VALUES, {"results": results}, _flow_relationships(messages))
