"""The Gorgias connector over HTTP against the sandbox process: a 45-day window comes back whole, each
day once, with consistent totals, and the same numbers when Gorgias throttles or fails mid-read."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, PlatformConnector, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.catalogue import SUPPORT_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))  # 45 days
EMAIL = "ops@example.com"


def build(
    url: str, http: httpx.AsyncClient, key: str, subdomain: str, clock: VirtualClock | None = None
) -> PlatformConnector:
    connector, _ = platform_connector(
        "gorgias", settings_for(url), http, Credentials(key), subdomain, options={"email": EMAIL}, clock=clock
    )
    return connector


def keyed(days: list[MetricDay]) -> dict[tuple[date, str], int]:
    found = {(d.day, d.metric_key): d.value for d in days}
    assert len(found) == len(days), "a metric of a day came back twice"
    return found


async def fetch(connector: PlatformConnector, window: DateRange = WINDOW) -> dict[tuple[date, str], int]:
    account = await connector.account_info()
    return keyed(await connector.metric_days(window, account))


def total(days: dict[tuple[date, str], int], key: str) -> int:
    return sum(value for (_, metric), value in days.items() if metric == key)


async def test_a_45_day_window_comes_back_whole_and_consistent(sandbox: SandboxControl) -> None:
    key = sandbox.grant("gorgias")["access_token"]
    async with httpx.AsyncClient(timeout=30) as http:
        days = await fetch(build(sandbox.url, http, key, "demo-store"))
    every_day = {WINDOW.start + timedelta(days=i) for i in range(WINDOW.days)}
    assert set(days) == {(day, metric.key) for day in every_day for metric in SUPPORT_METRICS}
    assert total(days, "tickets_created") > WINDOW.days  # a few tickets a day
    assert total(days, "resolutions") == total(days, "tickets_closed") > 0
    assert 0 < total(days, "first_responses") <= total(days, "tickets_created")
    assert total(days, "csat_responses") > 0
    assert total(days, "csat_responses") <= total(days, "csat_score_total") <= 5 * total(days, "csat_responses")
    for day in every_day:  # a duration total only where something was timed
        assert (days[(day, "resolution_seconds_total")] > 0) == (days[(day, "resolutions")] > 0)


async def test_throttling_and_failures_mid_read_give_the_same_numbers(sandbox: SandboxControl) -> None:
    key = sandbox.grant("gorgias")["access_token"]
    async with httpx.AsyncClient(timeout=30) as http:
        clean = await fetch(build(sandbox.url, http, key, "faulty-store"))
        sandbox.queue(
            "gorgias", "faulty-store", "none", "rate_limit:2", "server_error", "throttle", "malformed", "none"
        )
        sandbox.queue("gorgias", "faulty-store", "server_error", "none", "throttle")
        clock = VirtualClock()
        faulted = await fetch(build(sandbox.url, http, key, "faulty-store", clock))
    assert faulted == clean
    assert 2.0 in clock.slept and 5.0 in clock.slept  # Retry-after: 2 (rate_limit:2) and 5 (throttle)
    assert sandbox.requests()["gorgias/faulty-store"] > 2 * 9


async def test_a_shorter_window_inside_gives_the_same_days(sandbox: SandboxControl) -> None:
    key = sandbox.grant("gorgias")["access_token"]
    inner = DateRange(date(2026, 8, 20), date(2026, 8, 26))
    async with httpx.AsyncClient(timeout=30) as http:
        whole = await fetch(build(sandbox.url, http, key, "demo-store"))
        part = await fetch(build(sandbox.url, http, key, "demo-store"), inner)
    assert part == {k: v for k, v in whole.items() if inner.start <= k[0] <= inner.end}


async def test_the_configured_time_zone_moves_tickets_between_days(sandbox: SandboxControl) -> None:
    sandbox.configure("gorgias", "tokyo-store", time_zone="Asia/Tokyo")
    key = sandbox.grant("gorgias")["access_token"]
    async with httpx.AsyncClient(timeout=30) as http:
        connector = build(sandbox.url, http, key, "tokyo-store")
        assert (await connector.account_info()).time_zone == "Asia/Tokyo"
        tokyo = await fetch(connector)
        sandbox.configure("gorgias", "tokyo-store", time_zone="America/New_York")
        new_york = await fetch(build(sandbox.url, http, key, "tokyo-store"))
    # The same tickets, bucketed 13 to 14 hours apart: some days change.
    assert any(tokyo[k] != new_york[k] for k in tokyo if k[1] == "tickets_created")


async def test_a_dead_key_asks_for_a_reconnect(sandbox: SandboxControl) -> None:
    key = sandbox.grant("gorgias")["access_token"]
    sandbox.queue("gorgias", "revoked-store", "expired_token")
    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(ReconnectRequired, match="401"):
            await fetch(build(sandbox.url, http, key, "revoked-store"))


async def test_a_user_without_access_is_an_error_naming_what_is_missing(sandbox: SandboxControl) -> None:
    key = sandbox.grant("gorgias")["access_token"]
    sandbox.queue("gorgias", "locked-store", "none", "forbidden")
    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(PlatformError, match="tickets \\(403\\)"):
            await fetch(build(sandbox.url, http, key, "locked-store"))
