"""The GA4 connector over HTTP against the sandbox process (reports paged every 7 rows): a 45-day
window comes back whole, each day once, the property's day the sum of its channel groups; users per
window are GA4's count of people, fewer than the days' users added up; faults mid-read change nothing."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, MustWait, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.catalogue import TRAFFIC_METRICS, daily_sums
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay, conversions_to_scaled
from clientpulse.results_ingest.platforms.ga4.connector import GA4Connector, daily_request, users_request
from clientpulse.shared.money import to_minor_units

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))  # 45 days: two daily reports
DEMO_PROPERTY = "314159265"


def build(url: str, http: httpx.AsyncClient, grant: dict[str, str], property_id: str, **kwargs: object) -> GA4Connector:
    connector, _ = platform_connector("ga4", settings_for(url), http, Credentials(**grant), property_id, **kwargs)  # type: ignore[arg-type]
    assert isinstance(connector, GA4Connector)
    return connector


def keyed(days: list[MetricDay]) -> dict[tuple[date, str, str | None], int]:
    found = {(d.day, d.metric_key, d.breakdown.member if d.breakdown else None): d.value for d in days}
    assert len(found) == len(days), "a day's metric came back twice"
    return found


async def test_a_45_day_window_comes_back_whole_each_day_once_and_consistent(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build(sandbox.url, http, sandbox.grant("ga4"), DEMO_PROPERTY)
        account = await connector.account_info()
        days = await connector.metric_days(WINDOW, account)
        # The same window in one report without days: what the days must add up to.
        whole = await connector.report_rows({**daily_request(WINDOW), "dimensions": [], "orderBys": []})
    assert (account.currency, account.time_zone) == ("USD", "America/New_York")
    values = keyed(days)
    property_days = [d for d in days if d.breakdown is None]
    assert sorted({d.day for d in property_days}) == [WINDOW.start + timedelta(days=i) for i in range(45)]
    assert len(property_days) == 45 * len(daily_sums(TRAFFIC_METRICS))
    groups = {d.breakdown.member for d in days if d.breakdown is not None}
    assert "Email" in groups and len(groups) >= 5
    for (day, metric, group), value in values.items():
        if group is None:
            assert value == sum(values[(day, metric, g)] for g in groups), (day, metric)
    totals: defaultdict[str, int] = defaultdict(int)
    for d in property_days:
        totals[d.metric_key] += d.value
    (report,) = whole
    assert totals["sessions"] == int(report["sessions"]) > 0
    assert totals["transactions"] == int(report["transactions"])
    assert totals["key_events_e4"] == conversions_to_scaled(report["keyEvents"])
    assert totals["purchase_revenue_minor"] == to_minor_units(report["purchaseRevenue"], "USD")
    # Email brings nobody at weekends: those days are zeros, not missing.
    saturday = date(2026, 8, 1)
    assert values[(saturday, "sessions", "Email")] == 0
    assert {d.currency for d in days if d.metric_key == "purchase_revenue_minor"} == {"USD"}


async def test_users_of_a_window_are_people_not_the_days_added_up(sandbox: SandboxControl) -> None:
    windows = [DateRange(WINDOW.end - timedelta(days=n - 1), WINDOW.end) for n in (7, 14, 30, 45)]
    windows.append(DateRange(date(2026, 8, 1), date(2026, 8, 31)))  # a fifth window: a second report
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build(sandbox.url, http, sandbox.grant("ga4"), "4004")
        account = await connector.account_info()
        before = sandbox.requests().get("ga4/4004", 0)
        figures = await connector.window_figures(windows, account)
        asked = sandbox.requests()["ga4/4004"] - before
        daily = await connector.report_rows(
            {**users_request({"w": WINDOW}, by_channel=False), "dimensions": [{"name": "date"}]}
        )
    users_on = {row["date"]: int(row["totalUsers"]) for row in daily}
    assert len(users_on) == 45
    # One batch; the sandbox pages every 7 rows, so the per-group reports need a few more pages.
    assert asked < 10
    for w in windows:
        (figure,) = [f for f in figures if (f.start, f.end) == (w.start, w.end) and f.breakdown is None]
        days_users = [users_on[(w.start + timedelta(days=i)).strftime("%Y%m%d")] for i in range(w.days)]
        assert max(days_users) <= figure.value < sum(days_users)
        parts = [f.value for f in figures if (f.start, f.end) == (w.start, w.end) and f.breakdown is not None]
        assert len(parts) >= 5 and max(parts) <= figure.value <= sum(parts)
    assert {f.metric_key for f in figures} == {"total_users"}


async def test_faults_mid_read_give_the_same_numbers(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("ga4")
    async with httpx.AsyncClient(timeout=10) as http:
        reader = build(sandbox.url, http, grant, "5005")
        clean = keyed(await reader.metric_days(WINDOW, await reader.account_info()))
        faults = [
            "none",
            "rate_limit:2",
            "server_error",
            "throttle",
            "malformed",
            "expired_token",
            "server_error",
            "throttle",
        ]
        sandbox.queue("ga4", "5005", *faults)
        clock, refreshed = VirtualClock(), []
        connector = build(sandbox.url, http, grant, "5005", clock=clock, refreshed=refreshed)
        faulted = keyed(await connector.metric_days(WINDOW, await connector.account_info()))
    assert faulted == clean
    assert 2.0 in clock.slept  # Retry-After: 2, and the concurrent-requests quota's seconds
    assert len(refreshed) == 1 and refreshed[0].access_token != grant["access_token"]


async def test_exhausted_tokens_leave_the_work_waiting_and_a_low_quota_stops_short(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("ga4")
    async with httpx.AsyncClient(timeout=10) as http:
        account = await build(sandbox.url, http, grant, "6006").account_info()
        sandbox.queue("ga4", "6006", "quota_hourly")
        clock = VirtualClock()
        with pytest.raises(MustWait) as hourly:
            await build(sandbox.url, http, grant, "6006", clock=clock).metric_days(WINDOW, account)
        assert hourly.value.until == clock.now() + timedelta(hours=1)
        sandbox.clear()
        sandbox.queue("ga4", "6007", "quota_low")
        with pytest.raises(MustWait) as reserve:
            await build(sandbox.url, http, grant, "6007", clock=clock).metric_days(WINDOW, account)
        assert reserve.value.signal == "ga4_reserve"
        assert sandbox.requests()["ga4/6007"] == 1  # the second 30-day report waits for the hour


async def test_a_user_without_access_to_the_property_is_an_error_not_a_reconnect(sandbox: SandboxControl) -> None:
    sandbox.queue("ga4", "7007", "permission_denied")
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(PlatformError, match="sufficient permissions") as refused:
            await build(sandbox.url, http, sandbox.grant("ga4"), "7007").account_info()
    assert not isinstance(refused.value, ReconnectRequired)
