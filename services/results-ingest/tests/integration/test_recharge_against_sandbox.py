"""The Recharge connector over HTTP against the sandbox process: a 45-day read comes back whole,
agrees with a count over the store's whole history, and faults injected mid-read change nothing."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.results_ingest.platforms.recharge.connector import RechargeConnector
from clientpulse.results_ingest.platforms.recharge.subscription_days import (
    charge_metric_days,
    collected_charge,
    subscription_metric_days,
    subscription_span,
)

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))  # 45 days
DEMO_STORE = "copperleaf-coffee"
KEYS = {
    "active_subscriptions",
    "subscriptions_created",
    "subscriptions_cancelled",
    "charges",
    "recurring_revenue_minor",
}


def store_token(sandbox: SandboxControl, account: str) -> str:
    response = httpx.post(f"{sandbox.url}/_sandbox/recharge/tokens", json={"account_id": account})
    return str(response.raise_for_status().json()["access_token"])


def build(sandbox: SandboxControl, http: httpx.AsyncClient, token: str, account: str, **kw: Any) -> RechargeConnector:
    connector, _ = platform_connector("recharge", settings_for(sandbox.url), http, Credentials(token), account, **kw)
    assert isinstance(connector, RechargeConnector)
    return connector


def by_day(days: list[MetricDay]) -> dict[tuple[str, date], MetricDay]:
    keyed = {(d.metric_key, d.day): d for d in days}
    assert len(keyed) == len(days), "a metric came back twice for a day"
    return keyed


async def read(connector: RechargeConnector) -> dict[tuple[str, date], MetricDay]:
    return by_day(await connector.metric_days(WINDOW, await connector.account_info()))


async def whole_history_count(connector: RechargeConnector) -> dict[tuple[str, date], MetricDay]:
    """The same metrics from every subscription and charge the store ever had (no filters at all)."""
    account = await connector.account_info()
    zone = ZoneInfo(account.time_zone)
    subscriptions = await connector.list_all("subscriptions", {})
    charges = await connector.list_all("charges", {})
    spans = [subscription_span(s, zone) for s in subscriptions]
    collected = [c for c in (collected_charge(r, zone, account.currency) for r in charges) if c is not None]
    return by_day(subscription_metric_days(spans, WINDOW) + charge_metric_days(collected, WINDOW, account.currency))


async def test_a_45_day_read_is_whole_and_agrees_with_the_stores_whole_history(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        connector = build(sandbox, http, sandbox.grant("recharge")["access_token"], DEMO_STORE)
        account = await connector.account_info()
        days = await read(connector)
        everything = await whole_history_count(connector)
    assert (account.currency, account.time_zone) == ("USD", "America/New_York")
    every_day = {WINDOW.start + timedelta(days=i) for i in range(WINDOW.days)}
    assert {key for key, _ in days} == KEYS
    assert all({d for key, d in days if key == metric} == every_day for metric in KEYS)
    assert days == everything
    active = [days[("active_subscriptions", d)].value for d in sorted(every_day)]
    assert min(active) > 50  # a store with a real book of subscriptions
    assert sum(days[("charges", d)].value for d in every_day) > 45
    assert sum(days[("subscriptions_cancelled", d)].value for d in every_day) > 0
    # A level moves by what started and ended: never by more than what started that day.
    for day in sorted(every_day)[1:]:
        rise = days[("active_subscriptions", day)].value - days[("active_subscriptions", day - timedelta(days=1))].value
        assert rise <= days[("subscriptions_created", day)].value


async def test_every_fault_yields_the_same_days_as_a_clean_read(sandbox: SandboxControl) -> None:
    token = store_token(sandbox, "4004")
    faults = ["rate_limit:2", "server_error", "throttle", "truncated", "malformed", "server_error", "throttle"]
    async with httpx.AsyncClient(timeout=30) as http:
        clean = await read(build(sandbox, http, token, "4004"))
        sandbox.queue("recharge", "4004", *faults)
        clock = VirtualClock()
        faulted = await read(build(sandbox, http, token, "4004", clock=clock))
    assert faulted == clean
    assert clock.slept.count(2.0) >= 3  # Retry-After: 2, and Recharge's own 429 twice (2 s each)
    assert len(clock.slept) >= len(faults)


async def test_each_store_has_its_own_book(sandbox: SandboxControl) -> None:
    sandbox.configure("recharge", "5005", currency="EUR", time_zone="Europe/Berlin", name="Berlin Beans")
    async with httpx.AsyncClient(timeout=30) as http:
        berlin = build(sandbox, http, store_token(sandbox, "5005"), "5005")
        info = await berlin.account_info()
        days = await read(berlin)
        demo = await read(build(sandbox, http, sandbox.grant("recharge")["access_token"], DEMO_STORE))
    assert (info.name, info.currency, info.time_zone) == ("Berlin Beans", "EUR", "Europe/Berlin")
    assert {d.currency for d in days.values() if d.metric_key == "recurring_revenue_minor"} == {"EUR"}
    assert days != demo


@pytest.mark.parametrize(("fault", "words"), [("expired_token", "Invalid API token"), ("missing_scope", "scope")])
async def test_a_refused_token_asks_for_a_reconnect(sandbox: SandboxControl, fault: str, words: str) -> None:
    token = store_token(sandbox, "6006")
    sandbox.queue("recharge", "6006", fault)
    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(ReconnectRequired, match=words):
            await build(sandbox, http, token, "6006").account_info()


async def test_a_token_of_another_store_does_not_read_this_one(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(PlatformError, match="belongs to the store"):
            await build(sandbox, http, store_token(sandbox, "7007"), DEMO_STORE).account_info()
