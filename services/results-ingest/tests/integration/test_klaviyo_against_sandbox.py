"""The Klaviyo connector over HTTP against the sandbox process: a 45-day window comes back whole, every
day once, the campaigns and flows adding up to the account; faults mid-read change nothing; refused
keys and long waits are told apart."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import (
    Credentials,
    MustWait,
    PlatformConnector,
    PlatformError,
    ReconnectRequired,
)
from clientpulse.results_ingest.domain.catalogue import EMAIL_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))  # 45 days
KEYS = {m.key for m in EMAIL_METRICS}


def build(url: str, http: httpx.AsyncClient, account: str, **kwargs: Any) -> PlatformConnector:
    key = kwargs.pop("key", f"pk_sbx_{account}")
    connector, _ = platform_connector("klaviyo", settings_for(url), http, Credentials(key), account, **kwargs)
    return connector


async def fetch(connector: PlatformConnector, window: DateRange = WINDOW) -> list[MetricDay]:
    return await connector.metric_days(window, await connector.account_info())


def account_rows(days: list[MetricDay]) -> dict[tuple[date, str], int]:
    rows = [d for d in days if d.breakdown is None]
    keyed = {(d.day, d.metric_key): d.value for d in rows}
    assert len(keyed) == len(rows), "an account day came back twice"
    return keyed


async def test_a_45_day_window_comes_back_whole_and_the_parts_add_up(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build(sandbox.url, http, "KSBX01")
        info = await connector.account_info()
        days = await connector.metric_days(WINDOW, info)
    assert (info.currency, info.time_zone) == ("USD", "America/New_York")
    account = account_rows(days)
    assert set(account) == {(WINDOW.start + timedelta(days=i), k) for i in range(WINDOW.days) for k in KEYS}
    parts: dict[tuple[date, str], int] = defaultdict(int)
    for d in days:
        if d.breakdown is not None:
            parts[(d.day, d.metric_key)] += d.value
    assert all(account[key] == parts.get(key, 0) for key in account)
    campaigns = {d.breakdown for d in days if d.breakdown and d.breakdown.dimension == "email_campaign"}
    flows = {d.breakdown for d in days if d.breakdown and d.breakdown.dimension == "email_flow"}
    assert len(campaigns) > 10 and not [c for c in campaigns if c.label is None or "(SMS)" in c.label]
    assert len(flows) >= 3 and all(f.label for f in flows)
    assert sum(v for (_, k), v in account.items() if k == "email_revenue_minor") > 0


async def test_campaigns_count_on_their_send_day_in_the_accounts_time_zone(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        days = await fetch(build(sandbox.url, http, "KSBX01"))
        placed = {d.breakdown.member: d.day for d in days if d.breakdown and d.breakdown.dimension == "email_campaign"}
        ids = ",".join(f'"{c}"' for c in list(placed)[:50])
        sent: dict[str, str] = {}
        url: str | None = f"{sandbox.url}/klaviyo/api/campaigns/"
        params: dict[str, str] | None = {"filter": f"and(equals(messages.channel,'email'),any(id,[{ids}]))"}
        headers = {"Authorization": "Klaviyo-API-Key pk_sbx_KSBX01", "revision": "2026-04-15"}
        while url:
            body = (await http.get(url, params=params, headers=headers)).json()
            sent.update({c["id"]: c["attributes"]["send_time"] for c in body["data"]})
            url, params = body["links"]["next"], None
    new_york = ZoneInfo("America/New_York")
    local = {c: datetime.fromisoformat(t).astimezone(new_york).date() for c, t in sent.items()}
    assert all(placed[c] == local[c] for c in sent)
    # Some were sent late in the evening: the next day in UTC, yet counted on their New York day.
    assert [c for c, t in sent.items() if datetime.fromisoformat(t).date() != local[c]]


async def test_faults_mid_read_give_the_same_numbers(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        clean = await fetch(build(sandbox.url, http, "KSBX07"))
        sandbox.queue("klaviyo", "KSBX07", "none", "throttle", "rate_limit:2", "server_error", "malformed", "throttle")
        sandbox.queue("klaviyo", "KSBX07", "none", "server_error", "throttle")
        clock = VirtualClock()
        faulted = await fetch(build(sandbox.url, http, "KSBX07", clock=clock))
    assert sorted(faulted, key=repr) == sorted(clean, key=repr)
    assert 2.0 in clock.slept and clock.slept.count(1.0) >= 3


async def test_a_revoked_key_needs_a_new_key(sandbox: SandboxControl) -> None:
    sandbox.queue("klaviyo", "KSBX08", "expired_token")
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build(sandbox.url, http, "KSBX08")
        with pytest.raises(ReconnectRequired, match="Incorrect authentication credentials"):
            await connector.account_info()
        with pytest.raises(ReconnectRequired):  # the key stays dead
            await connector.account_info()


async def test_a_key_without_the_reporting_scope_needs_a_new_key(sandbox: SandboxControl) -> None:
    sandbox.queue("klaviyo", "KSBX09", "none", "none", "missing_scope")
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(ReconnectRequired, match="missing required scopes"):
            await fetch(build(sandbox.url, http, "KSBX09"))


async def test_the_daily_report_limit_is_waited_for_not_retried(sandbox: SandboxControl) -> None:
    sandbox.queue("klaviyo", "KSBX10", "none", "none", "none", "rate_limit:3600")
    clock = VirtualClock()
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(MustWait) as waiting:
            await fetch(build(sandbox.url, http, "KSBX10", clock=clock))
    assert waiting.value.until == clock.now() + timedelta(hours=1)


async def test_a_conversion_metric_the_account_lacks_is_refused_in_klaviyos_words(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build(sandbox.url, http, "KSBX11", options={"conversion_metric_id": "NOPE00"})
        with pytest.raises(PlatformError, match="NOPE00 does not exist"):
            await fetch(connector)


async def test_a_key_of_another_account_is_not_read_as_this_one(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(PlatformError, match="KSBX01"):
            await build(sandbox.url, http, "KSBX12", key="pk_sbx_KSBX01").account_info()
