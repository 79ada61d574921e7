"""The Yotpo Loyalty connector over HTTP against the sandbox process: a 45-day window comes back whole,
every metric once a day, the same with faults injected mid-read, and the same read in two parts."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, PlatformConnector, ReconnectRequired
from clientpulse.results_ingest.domain.catalogue import LOYALTY_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))
OPTIONS = {"currency": "USD", "time_zone": "America/New_York"}
PLATFORM = "yotpo_loyalty"


def build(
    url: str, http: httpx.AsyncClient, key: str, guid: str, clock: VirtualClock | None = None
) -> PlatformConnector:
    connector, _ = platform_connector(
        PLATFORM, settings_for(url), http, Credentials(key), guid, options=OPTIONS, clock=clock
    )
    return connector


async def read(connector: PlatformConnector, window: DateRange = WINDOW) -> dict[tuple[str, date], MetricDay]:
    account = await connector.account_info()
    rows = await connector.metric_days(window, account)
    keyed = {(r.metric_key, r.day): r for r in rows}
    assert len(keyed) == len(rows), "a metric came back twice for a day"
    return keyed


async def test_a_45_day_window_comes_back_whole_and_consistent(sandbox: SandboxControl) -> None:
    guid = "a1b2c3d4-0000-4000-8000-000000000045"
    async with httpx.AsyncClient(timeout=30) as http:
        rows = await read(build(sandbox.url, http, f"sbx-yotpo-key-{guid}", guid))
    days = [WINDOW.start + timedelta(days=i) for i in range(WINDOW.days)]
    assert set(rows) == {(m.key, d) for m in LOYALTY_METRICS for d in days}
    members = [rows["loyalty_members", d].value for d in days]
    for before, day, after in zip(members, days[1:], members[1:], strict=False):
        # The level grows by the day's joiners who are still members, never by more.
        assert 0 <= after - before <= rows["loyalty_new_members", day].value
    assert members[0] > 100  # a level, not the day's joiners
    assert sum(rows["redemptions", d].value for d in days) > 0
    assert all(rows["points_redeemed", d].value % 500 == 0 for d in days)
    assert sum(rows["points_earned", d].value for d in days) > 0
    revenue = [rows["loyalty_revenue_minor", d] for d in days]
    assert {r.currency for r in revenue} == {"USD"} and sum(r.value for r in revenue) > 0
    assert all(rows["points_earned", d].currency is None for d in days)


async def test_faults_mid_read_give_the_same_numbers(sandbox: SandboxControl) -> None:
    grant = sandbox.grant(PLATFORM)
    guid = "a1b2c3d4-0000-4000-8000-00000000fa17"
    async with httpx.AsyncClient(timeout=30) as http:
        clean = await read(build(sandbox.url, http, grant["access_token"], guid))
        faults = ["none", "none", "rate_limit:2", "server_error", "throttle", "none", "malformed", "server_error"]
        sandbox.queue(PLATFORM, guid, *faults)
        clock = VirtualClock()
        faulted = await read(build(sandbox.url, http, grant["access_token"], guid, clock))
    assert faulted == clean
    assert 2.0 in clock.slept  # Retry-After: 2 was honoured
    assert len(clock.slept) == 5  # each refusal retried once


async def test_two_halves_of_a_window_read_the_same_as_the_whole(sandbox: SandboxControl) -> None:
    guid = "a1b2c3d4-0000-4000-8000-0000000000a2"
    first, second = DateRange(WINDOW.start, date(2026, 8, 20)), DateRange(date(2026, 8, 21), WINDOW.end)
    async with httpx.AsyncClient(timeout=30) as http:
        connector = build(sandbox.url, http, f"sbx-yotpo-key-{guid}", guid)
        whole = await read(connector)
        parts = await read(connector, first) | await read(connector, second)
    assert parts == whole


async def test_history_is_asked_only_of_customers_changed_since_the_window_began(sandbox: SandboxControl) -> None:
    guid = "a1b2c3d4-0000-4000-8000-00000000570b"
    key = f"sbx-yotpo-key-{guid}"
    window = DateRange(date(2026, 11, 20), date(2026, 11, 26))
    async with httpx.AsyncClient(timeout=30) as http:
        await read(build(sandbox.url, http, key, guid), window)
        listed: list[dict[str, str]] = []
        page = await http.get(
            f"{sandbox.url}/yotpo/api/v2/customers/recent",
            params={"per_page": "250"},
            headers={"x-guid": guid, "x-api-key": key},
        )
        listed = page.json()["customers"]
    since = datetime(2026, 11, 20, 5, tzinfo=UTC)  # midnight in New York
    changed = [c for c in listed if c["last_seen_at"] >= since.strftime("%Y-%m-%dT%H:%M:%S")]
    assert 0 < len(changed) < len(listed)
    pages = -(-len(listed) // 100)
    # list pages + the rewards (twice: account_info, metric_days) + one history per changed customer
    assert sandbox.requests()[f"{PLATFORM}/{guid}"] == pages + 2 + len(changed) + 1
    assert pages >= 2


@pytest.mark.parametrize("fault", [None, "expired_token"])
async def test_a_wrong_or_revoked_key_asks_for_a_reconnect(sandbox: SandboxControl, fault: str | None) -> None:
    guid = "a1b2c3d4-0000-4000-8000-0000000000de"
    key = "not-a-key" if fault is None else f"sbx-yotpo-key-{guid}"
    if fault:
        sandbox.queue(PLATFORM, guid, fault)
    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(ReconnectRequired, match="GUID or API key"):
            await read(build(sandbox.url, http, key, guid))
