"""The GA4 connector over loopback against the Data API's documented answers: positional rows read
by their headers' names (in any order), pages until ``rowCount``, property days as given, channel
groups summed into the property's day, fractional key events, users per whole window, and the
property's quotas (exhausted hourly or daily, or kept in reserve). Long waits use a virtual clock."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import VirtualClock, platform_connector, settings_for
from scripted import Answer, ScriptedPlatform, scripted_platform

from clientpulse.results_ingest.connectors.base import (
    Credentials,
    Misconfigured,
    MustWait,
    PlatformConnector,
    PlatformError,
    ReconnectRequired,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, Breakdown, MetricDay, WindowFigure
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.platforms.ga4.report import ReportUnreadable, metric_value

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PROPERTY = "123456789"
REPORT = f"/ga4/data/v1beta/properties/{PROPERTY}:runReport"
BATCH = f"/ga4/data/v1beta/properties/{PROPERTY}:batchRunReports"
ADMIN = f"/ga4/admin/v1beta/properties/{PROPERTY}"
TOKEN = "/ga4/oauth/token"
USD = AccountInfo(PROPERTY, "Demo store", "USD", "America/New_York")
# 15:30 UTC on 2 June 2025 is 08:30 in Pacific daylight time: the daily quota returns at 07:00 UTC on 3 June.
NOON_ISH = datetime(2025, 6, 2, 15, 30, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())  # type: ignore[no-any-return]


def sample_answer(name: str) -> Answer:
    recorded = sample(name)["response"]
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return Answer(recorded["status"], recorded["body"], headers)


def documented_first_page() -> Answer:
    """The documented report page; its request asked ``totalUsers`` where ours asks ``newUsers``, so that
    column is named as ours (the values stay the documented ones)."""
    body = sample("ga4__run_report")["response"]["body"]
    body["metricHeaders"] = [
        {**h, "name": "newUsers"} if h["name"] == "totalUsers" else h for h in body["metricHeaders"]
    ]
    return Answer(200, body)


def row(dimensions: list[str], metrics: list[str]) -> dict[str, Any]:
    return {"dimensionValues": [{"value": v} for v in dimensions], "metricValues": [{"value": v} for v in metrics]}


# The rest of the documented report (rowCount 11, 6 rows shown), with the columns in another order.
SECOND_PAGE = {
    "dimensionHeaders": [{"name": "sessionDefaultChannelGroup"}, {"name": "date"}],
    "metricHeaders": [
        {"name": "purchaseRevenue", "type": "TYPE_CURRENCY"},
        {"name": "keyEvents", "type": "TYPE_FLOAT"},
        {"name": "transactions", "type": "TYPE_INTEGER"},
        {"name": "newUsers", "type": "TYPE_INTEGER"},
        {"name": "engagedSessions", "type": "TYPE_INTEGER"},
        {"name": "sessions", "type": "TYPE_INTEGER"},
    ],
    "rows": [
        row(["Paid Social", "20250602"], ["399.99", "7.5", "5", "588", "230", "610"]),
        row(["Email", "20250602"], ["1688.4000000000001", "19.25", "12", "251", "210", "290"]),
        row(["Referral", "20250602"], ["0", "0.3333", "0", "40", "30", "52"]),
        row(["Referral", "20250601"], ["89.10", "1", "1", "33", "25", "47"]),
        row(["Unassigned", "20250602"], ["0", "0", "0", "3", "0", "4"]),
    ],
    "rowCount": 11,
    "metadata": {"currencyCode": "USD", "timeZone": "America/New_York"},
    "kind": "analyticsData#runReport",
}


def quota(**remaining: int) -> dict[str, Any]:
    limits = {"tokensPerDay": 200_000, "tokensPerHour": 40_000, "tokensPerProjectPerHour": 14_000}
    return {
        name: {"consumed": limit - remaining.get(name, limit - 10), "remaining": remaining.get(name, limit - 10)}
        for name, limit in limits.items()
    }


def empty_report(**quota_remaining: int) -> Answer:
    return Answer(200, {"metricHeaders": [{"name": "sessions"}], "propertyQuota": quota(**quota_remaining)})


def ga4(platform: ScriptedPlatform, http: httpx.AsyncClient, **kwargs: Any) -> PlatformConnector:
    options = kwargs.pop("platform_settings", {})
    settings = settings_for(platform.url, platforms={"ga4": options})
    credentials = kwargs.pop("credentials", Credentials("ya29.old", "1//refresh"))
    return platform_connector("ga4", settings, http, credentials, PROPERTY, **kwargs)[0]


def values(days: list[MetricDay], day: date, breakdown: Breakdown | None = None) -> dict[str, int]:
    found = {d.metric_key: d.value for d in days if d.day == day and d.breakdown == breakdown}
    assert len(found) == 6, f"{day} {breakdown}: {found}"
    return found


def channel(group: str) -> Breakdown:
    return Breakdown("channel_group", group, group)


# --- reading the report ------------------------------------------------------------------------------


async def test_the_documented_report_read_page_by_page_gives_each_day_and_channel_group() -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, documented_first_page(), Answer(200, SECOND_PAGE))
        window = DateRange(date(2025, 6, 1), date(2025, 6, 3))
        days = await ga4(platform, http).metric_days(window, USD)

    first, second = (json.loads(s.body) for s in platform.requests(REPORT))
    assert (first["offset"], second["offset"]) == (0, 6)  # the next page starts after the 6 rows read
    assert [m["name"] for m in first["metrics"]] == [
        "sessions",
        "engagedSessions",
        "newUsers",
        "keyEvents",
        "transactions",
        "purchaseRevenue",
    ]
    assert [d["name"] for d in first["dimensions"]] == ["date", "sessionDefaultChannelGroup"]
    assert first["dateRanges"] == [{"startDate": "2025-06-01", "endDate": "2025-06-03"}]
    assert first["returnPropertyQuota"] is True
    assert platform.requests(REPORT)[0].headers["Authorization"] == "Bearer ya29.old"
    # 1 June: Organic Search, Direct, Paid Social, Email (page 1) and Referral (page 2, columns reordered).
    assert values(days, date(2025, 6, 1)) == {
        "sessions": 1842 + 977 + 655 + 312 + 47,
        "engaged_sessions": 1197 + 541 + 244 + 233 + 25,
        "new_users": 1610 + 902 + 631 + 280 + 33,
        "key_events_e4": (63 + 27 + 9 + 21 + 1) * 10_000,
        "transactions": 41 + 19 + 6 + 14 + 1,
        "purchase_revenue_minor": 391527 + 168840 + 42190 + 130255 + 8910,
    }
    # 2 June: fractional key events kept in ten-thousandths; revenue's float noise rounded to cents.
    assert values(days, date(2025, 6, 2)) == {
        "sessions": 1766 + 1021 + 610 + 290 + 52 + 4,
        "engaged_sessions": 1131 + 566 + 230 + 210 + 30 + 0,
        "new_users": 1544 + 948 + 588 + 251 + 40 + 3,
        "key_events_e4": 550_000 + 310_000 + 75_000 + 192_500 + 3_333,
        "transactions": 37 + 22 + 5 + 12,
        "purchase_revenue_minor": 337710 + 204995 + 39999 + 168840,
    }
    assert values(days, date(2025, 6, 2), channel("Email"))["purchase_revenue_minor"] == 168840
    assert values(days, date(2025, 6, 2), channel("Referral"))["key_events_e4"] == 3_333
    # 3 June had no rows: zeros, for the property and for every channel group seen in the window.
    assert set(values(days, date(2025, 6, 3)).values()) == {0}
    assert set(values(days, date(2025, 6, 3), channel("Email")).values()) == {0}
    assert values(days, date(2025, 6, 1), channel("Unassigned"))["sessions"] == 0
    assert len(days) == 3 * (1 + 6) * 6  # days × (property + six groups) × metrics, each once
    money = [d for d in days if d.metric_key == "purchase_revenue_minor"]
    assert {d.currency for d in money} == {"USD"} and {d.currency for d in days if d not in money} == {None}


@pytest.mark.parametrize(
    ("metric", "text", "currency", "expected"),
    [
        ("keyEvents", "37.5", "USD", 375_000),
        ("keyEvents", "0.33335", "USD", 3_334),  # ten-thousandths, half to even
        ("keyEvents", "12", "USD", 120_000),
        ("purchaseRevenue", "1688.4000000000001", "USD", 168_840),
        ("purchaseRevenue", "1234.5", "JPY", 1_234),  # yen have no minor unit
        ("purchaseRevenue", "10.0005", "KWD", 10_000),  # three decimals, half to even
        ("sessions", "1842", "USD", 1_842),
    ],
)
def test_metric_values_in_the_catalogue_units(metric: str, text: str, currency: str, expected: int) -> None:
    assert metric_value(metric, text, currency) == expected


async def test_a_row_that_does_not_match_its_headers_is_refused_not_guessed() -> None:
    broken = {**SECOND_PAGE, "rows": [row(["Email", "20250602"], ["1", "2"])], "rowCount": 1}
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, Answer(200, broken))
        with pytest.raises(ReportUnreadable, match="2 metric values for 2 and 6 headers"):
            await ga4(platform, http).metric_days(DateRange(date(2025, 6, 2), date(2025, 6, 2)), USD)


async def test_a_report_missing_a_metric_it_was_asked_for_is_refused() -> None:
    page = documented_first_page()
    page.body["metricHeaders"][1]["name"] = "activeUsers"  # no newUsers column any more
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, page)
        with pytest.raises(ReportUnreadable, match="newUsers"):
            await ga4(platform, http).metric_days(DateRange(date(2025, 6, 1), date(2025, 6, 2)), USD)


async def test_days_are_the_property_s_own_and_a_long_window_is_read_in_30_day_reports() -> None:
    """``date`` is a day of the property's time zone: asked and read as is, never moved through UTC."""
    metadata = {"displayName": "Kiwi store", "currencyCode": "NZD", "timeZone": "Pacific/Auckland"}
    late_evening = {**SECOND_PAGE, "rows": [row(["Direct", "20250131"], ["10.5", "1", "1", "3", "2", "4"])]}
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(ADMIN, Answer(200, {"name": f"properties/{PROPERTY}", **metadata}))
        platform.script(REPORT, empty_report(), Answer(200, {**late_evening, "rowCount": 1}))
        connector = ga4(platform, http)
        account = await connector.account_info()
        days = await connector.metric_days(DateRange(date(2025, 1, 1), date(2025, 2, 14)), account)
    assert account == AccountInfo(PROPERTY, "Kiwi store", "NZD", "Pacific/Auckland")
    asked = [json.loads(s.body)["dateRanges"][0] for s in platform.requests(REPORT)]
    assert asked == [
        {"startDate": "2025-01-01", "endDate": "2025-01-30"},
        {"startDate": "2025-01-31", "endDate": "2025-02-14"},
    ]
    assert values(days, date(2025, 1, 31)) == {
        "sessions": 4,
        "engaged_sessions": 2,
        "new_users": 3,
        "key_events_e4": 10_000,
        "transactions": 1,
        "purchase_revenue_minor": 1050,
    }
    assert next(d for d in days if d.metric_key == "purchase_revenue_minor" and d.value).currency == "NZD"
    assert sorted({d.day for d in days}) == [date(2025, 1, 1) + timedelta(days=i) for i in range(45)]


# --- users per window -------------------------------------------------------------------------------


def users_report(
    rows: list[tuple[list[str], str]], dimensions: list[str], row_count: int | None = None
) -> dict[str, Any]:
    return {
        "dimensionHeaders": [{"name": d} for d in dimensions],
        "metricHeaders": [{"name": "totalUsers", "type": "TYPE_INTEGER"}],
        "rows": [row(d, [users]) for d, users in rows],
        "rowCount": row_count if row_count is not None else len(rows),
        "propertyQuota": quota(),
        "kind": "analyticsData#runReport",
    }


WINDOWS = [
    DateRange(date(2025, 5, 26), date(2025, 6, 1)),  # last 7 days
    DateRange(date(2025, 5, 19), date(2025, 6, 1)),  # last 14 days
    DateRange(date(2025, 5, 3), date(2025, 6, 1)),  # last 30 days
    DateRange(date(2025, 4, 3), date(2025, 6, 1)),  # last 60 days
    DateRange(date(2025, 5, 1), date(2025, 5, 31)),  # last month: a fifth range, in a report of its own
]


async def test_users_are_the_property_s_count_per_window_in_one_batch_never_a_sum_of_days() -> None:
    batch = {
        "reports": [
            # The property's users per window (four ranges: the rows carry dateRange); one window had nobody.
            users_report([(["w0"], "5210"), (["w1"], "9377"), (["w2"], "17004")], ["dateRange"]),
            # Per channel group (columns in another order), two rows on this page of three.
            users_report(
                [(["w0", "Direct"], "2100"), (["w1", "Direct"], "3900")],
                ["dateRange", "sessionDefaultChannelGroup"],
                row_count=3,
            ),
            # The fifth window alone: its rows have no dateRange column.
            users_report([([], "16120")], []),
            users_report([(["Email"], "800")], ["sessionDefaultChannelGroup"]),
        ]
    }
    rest = users_report([(["Organic Search", "w0"], "3300")], ["sessionDefaultChannelGroup", "dateRange"], 3)
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(BATCH, Answer(200, batch))
        platform.script(REPORT, Answer(200, rest))
        figures = await ga4(platform, http).window_figures(WINDOWS, USD)

    (sent,) = platform.requests(BATCH)  # five windows, four reports, one request
    requests = json.loads(sent.body)["requests"]
    assert [len(r["dateRanges"]) for r in requests] == [4, 4, 1, 1]
    assert requests[0]["dateRanges"][1] == {"startDate": "2025-05-19", "endDate": "2025-06-01", "name": "w1"}
    assert [m["name"] for r in requests for m in r["metrics"]] == ["totalUsers"] * 4
    assert [d["name"] for d in requests[1]["dimensions"]] == ["sessionDefaultChannelGroup"]
    assert json.loads(platform.requests(REPORT)[0].body)["offset"] == 2  # the third row of the per-group report
    w = WINDOWS
    assert set(figures) == {
        WindowFigure(w[0].start, w[0].end, "total_users", 5210),
        WindowFigure(w[1].start, w[1].end, "total_users", 9377),
        WindowFigure(w[2].start, w[2].end, "total_users", 17004),
        WindowFigure(w[3].start, w[3].end, "total_users", 0),  # no row: nobody visited
        WindowFigure(w[4].start, w[4].end, "total_users", 16120),
        WindowFigure(w[0].start, w[0].end, "total_users", 2100, channel("Direct")),
        WindowFigure(w[1].start, w[1].end, "total_users", 3900, channel("Direct")),
        WindowFigure(w[0].start, w[0].end, "total_users", 3300, channel("Organic Search")),
        WindowFigure(w[4].start, w[4].end, "total_users", 800, channel("Email")),
    }
    assert len(figures) == 9


# --- quotas -----------------------------------------------------------------------------------------


async def test_exhausted_daily_tokens_wait_until_midnight_pacific_time() -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, sample_answer("ga4__resource_exhausted_429"))
        clock = VirtualClock(NOON_ISH)
        with pytest.raises(MustWait) as waiting:
            await ga4(platform, http, clock=clock).metric_days(DateRange(date(2025, 6, 1), date(2025, 6, 1)), USD)
    assert waiting.value.until == datetime(2025, 6, 3, 7, 0, tzinfo=UTC)
    assert waiting.value.signal == "ga4_daily"
    assert len(platform.requests(REPORT)) == 1  # not retried into a quota that cannot return yet


@pytest.mark.parametrize(
    "message",
    [
        "Exhausted property tokens per hour. These quota tokens will return in under an hour.",
        "Exhausted property tokens for a project per hour. These quota tokens will return in under an hour.",
        "Exhausted potentially thresholded requests quota.",
    ],
)
async def test_exhausted_hourly_quotas_wait_an_hour(message: str) -> None:
    exhausted = Answer(429, {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}})
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, exhausted)
        clock = VirtualClock(NOON_ISH)
        with pytest.raises(MustWait) as waiting:
            await ga4(platform, http, clock=clock).metric_days(DateRange(date(2025, 6, 1), date(2025, 6, 1)), USD)
    assert waiting.value.until == NOON_ISH + timedelta(hours=1)
    assert waiting.value.signal == "ga4_hourly"


async def test_exhausted_concurrent_requests_are_waited_out_in_seconds() -> None:
    busy = Answer(
        429, {"error": {"code": 429, "message": "Exhausted concurrent requests quota.", "status": "RESOURCE_EXHAUSTED"}}
    )
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, busy, Answer(200, {**SECOND_PAGE, "rowCount": 5}))
        clock = VirtualClock(NOON_ISH)
        days = await ga4(platform, http, clock=clock).metric_days(DateRange(date(2025, 6, 2), date(2025, 6, 2)), USD)
    assert clock.slept == [2.0]
    assert values(days, date(2025, 6, 2))["sessions"] == 610 + 290 + 52 + 4


@pytest.mark.parametrize(
    ("remaining", "until"),
    [
        ({"tokensPerHour": 1_999}, NOON_ISH + timedelta(hours=1)),  # under 5 % of 40,000
        ({"tokensPerProjectPerHour": 600}, NOON_ISH + timedelta(hours=1)),  # under 5 % of 14,000
        ({"tokensPerDay": 9_000}, datetime(2025, 6, 3, 7, 0, tzinfo=UTC)),  # under 5 % of 200,000
    ],
)
async def test_a_quota_down_to_its_reserve_pauses_the_property_before_it_runs_out(
    remaining: dict[str, int], until: datetime
) -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, empty_report(**remaining))
        clock = VirtualClock(NOON_ISH)
        connector = ga4(platform, http, clock=clock)
        with pytest.raises(MustWait) as waiting:  # 45 days: the second 30-day report is not sent
            await connector.metric_days(DateRange(date(2025, 5, 1), date(2025, 6, 14)), USD)
        assert waiting.value.until == until and waiting.value.signal == "ga4_reserve"
        assert len(platform.requests(REPORT)) == 1
        # Once the quota has returned, the property is read again.
        clock.advance((until - NOON_ISH).total_seconds())
        platform.script(REPORT, empty_report())
        assert len(await connector.metric_days(DateRange(date(2025, 5, 1), date(2025, 6, 14)), USD)) == 45 * 6


async def test_a_quota_above_its_reserve_does_not_pause() -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, empty_report(tokensPerHour=2_001, tokensPerDay=10_001))
        days = await ga4(platform, http).metric_days(DateRange(date(2025, 5, 1), date(2025, 6, 14)), USD)
    assert len(platform.requests(REPORT)) == 2 and len(days) == 45 * 6


# --- tokens and refusals ----------------------------------------------------------------------------


UNAUTHENTICATED = Answer(
    401,
    {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}},
)


async def test_an_expired_access_token_is_refreshed_once_and_the_report_asked_again() -> None:
    refreshed: list[Credentials] = []
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(
            ADMIN,
            UNAUTHENTICATED,
            Answer(200, {"displayName": "D", "currencyCode": "EUR", "timeZone": "Europe/Berlin"}),
        )
        platform.script(TOKEN, Answer(200, {"access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer"}))
        account = await ga4(platform, http, refreshed=refreshed).account_info()
    assert account.currency == "EUR"
    assert [s.headers["Authorization"] for s in platform.requests(ADMIN)] == ["Bearer ya29.old", "Bearer ya29.new"]
    form = parse_qs(platform.requests(TOKEN)[0].body)
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["1//refresh"]
    assert refreshed[0].access_token == "ya29.new" and refreshed[0].refresh_token == "1//refresh"  # kept


@pytest.mark.parametrize(
    ("token_answer", "expected"),
    [
        (
            Answer(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
            ReconnectRequired,
        ),
        (
            Answer(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}),
            Misconfigured,
        ),
    ],
)
async def test_a_refresh_the_token_endpoint_refuses(token_answer: Answer, expected: type[Exception]) -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(ADMIN, UNAUTHENTICATED)
        platform.script(TOKEN, token_answer)
        with pytest.raises(expected):
            await ga4(platform, http).account_info()


def forbidden(message: str, reason: str | None = None) -> Answer:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}] if reason else []
    return Answer(403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED", "details": details}})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The Google user lost access to the property: an error a property admin can undo, not a dead grant.
        (forbidden("User does not have sufficient permissions for this property."), PlatformError),
        # The grant lacks the Analytics scope: only a new consent gives it.
        (
            forbidden("Request had insufficient authentication scopes.", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
            ReconnectRequired,
        ),
        # Our Google Cloud project has not enabled the Data API: our settings, for every connection.
        (
            forbidden(
                "Google Analytics Data API has not been used in project 1234 before or it is disabled.",
                "SERVICE_DISABLED",
            ),
            Misconfigured,
        ),
    ],
)
async def test_permission_refusals(answer: Answer, expected: type[Exception]) -> None:
    async with scripted_platform() as platform, httpx.AsyncClient() as http:
        platform.script(REPORT, answer)
        with pytest.raises(PlatformError) as refused:
            await ga4(platform, http).metric_days(DateRange(date(2025, 6, 1), date(2025, 6, 1)), USD)
    assert type(refused.value) is expected
    assert len(platform.requests(REPORT)) == 1


def test_consent_asks_for_read_only_analytics_offline_with_a_refresh_token_every_time() -> None:
    spec = REGISTRY.get("ga4")
    settings = settings_for("http://sandbox").platform_settings(spec)
    url = urlparse(
        spec.auth.authorization_url(
            settings, state="s", redirect_uri="https://app/cb", code_challenge="c", account_id=PROPERTY
        )
    )  # type: ignore[union-attr]
    query = parse_qs(url.query)
    assert url.path == "/ga4/oauth/auth"
    assert query["scope"] == ["https://www.googleapis.com/auth/analytics.readonly"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"]
    assert spec.reread_days == 3 and spec.slice_days == 30 and not spec.reports_reach
