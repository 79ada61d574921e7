"""The Shopify connector against the sandbox process: whole windows of daily sales, every day once,
the same numbers through throttles, server errors and an expired token, rotating refresh tokens,
and the 60-day limit of a shop that did not grant read_all_orders."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.catalogue import STORE_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms.shopify.connector import ShopifyConnector

DEMO_SHOP = "demo-store"
KEYS = {m.key for m in STORE_METRICS}


def recent(days: int, time_zone: str) -> DateRange:
    """The ``days`` shop-local days before today."""
    today = datetime.now(UTC).astimezone(ZoneInfo(time_zone)).date()
    return DateRange(today - timedelta(days=days), today - timedelta(days=1))


def build(
    sandbox: SandboxControl,
    http: httpx.AsyncClient,
    credentials: Credentials,
    shop: str = DEMO_SHOP,
    refreshed: list[Credentials] | None = None,
) -> ShopifyConnector:
    connector, _ = platform_connector(
        "shopify", settings_for(sandbox.url), http, credentials, shop, clock=VirtualClock(), refreshed=refreshed
    )
    assert isinstance(connector, ShopifyConnector)
    return connector


def by_day(rows: list[MetricDay]) -> dict[date, dict[str, int]]:
    days: dict[date, dict[str, int]] = {}
    for row in rows:
        assert row.metric_key not in days.setdefault(row.day, {}), f"{row.metric_key} came twice for {row.day}"
        days[row.day][row.metric_key] = row.value
    return days


async def read(connector: ShopifyConnector, days: int) -> tuple[AccountInfo, list[MetricDay]]:
    account = await connector.account_info()
    return account, await connector.metric_days(recent(days, account.time_zone), account)


async def test_a_45_day_window_comes_back_whole_and_consistent(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        account, rows = await read(build(sandbox, http, Credentials(**sandbox.grant("shopify"))), 45)
    assert (account.currency, account.time_zone) == ("USD", "America/Chicago")
    days = by_day(rows)
    window = recent(45, account.time_zone)
    assert sorted(days) == [window.start + timedelta(days=i) for i in range(45)]
    for day, metrics in days.items():
        assert set(metrics) == KEYS, day
        assert (
            metrics["net_sales_minor"]
            == metrics["gross_sales_minor"] - metrics["discounts_minor"] - metrics["returns_minor"]
        )
        assert metrics["new_customer_orders"] + metrics["returning_customer_orders"] <= metrics["orders"]
        assert metrics["orders"] > 0 and metrics["discounts_minor"] < metrics["gross_sales_minor"]
    assert sum(m["returns_minor"] for m in days.values()) > 0
    assert sum(m["returning_customer_orders"] for m in days.values()) > 0
    assert {r.currency for r in rows if r.metric_key.endswith("_minor")} == {"USD"}


async def test_the_shops_own_currency_and_time_zone(sandbox: SandboxControl) -> None:
    sandbox.configure("shopify", "berlin-linen", currency="EUR", time_zone="Europe/Berlin", name="Berlin Linen")
    async with httpx.AsyncClient(timeout=30) as http:
        account, rows = await read(build(sandbox, http, Credentials(**sandbox.grant("shopify")), "berlin-linen"), 7)
    assert account == AccountInfo("berlin-linen", "Berlin Linen", "EUR", "Europe/Berlin")
    assert {r.currency for r in rows if r.metric_key.endswith("_minor")} == {"EUR"}
    assert max(r.day for r in rows) == recent(7, "Europe/Berlin").end


async def test_faults_mid_read_give_the_same_numbers_and_the_token_rotates(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("shopify")
    async with httpx.AsyncClient(timeout=30) as http:
        _, clean = await read(build(sandbox, http, Credentials(**grant)), 60)
        faults = ["none", "throttle", "server_error", "rate_limit:1", "malformed", "expired_token", "throttle"]
        sandbox.queue("shopify", DEMO_SHOP, *faults)
        refreshed: list[Credentials] = []
        _, faulted = await read(build(sandbox, http, Credentials(**grant), refreshed=refreshed), 60)
    assert by_day(faulted) == by_day(clean)
    assert len(refreshed) == 1 and refreshed[0].refresh_token != grant["refresh_token"]
    assert refreshed[0].expires_at is not None


async def test_a_spent_refresh_token_is_dead_and_the_new_one_works(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("shopify")
    async with httpx.AsyncClient(timeout=30) as http:
        first = build(sandbox, http, Credentials(**grant))
        await first.refresh()
        rotated = first.ctx.credentials
        assert rotated.refresh_token != grant["refresh_token"]
        sandbox.queue("shopify", DEMO_SHOP, "expired_token")
        with pytest.raises(ReconnectRequired):
            await build(sandbox, http, Credentials(**grant)).account_info()
        again = build(sandbox, http, Credentials(rotated.access_token, rotated.refresh_token))
        sandbox.queue("shopify", DEMO_SHOP, "expired_token")
        assert (await again.account_info()).currency == "USD"


async def test_90_days_without_read_all_orders_fail_naming_the_scope(sandbox: SandboxControl) -> None:
    sandbox.queue("shopify", "recent-only", "withhold_read_all_orders")
    async with httpx.AsyncClient(timeout=30) as http:
        connector = build(sandbox, http, Credentials(**sandbox.grant("shopify")), "recent-only")
        with pytest.raises(PlatformError, match="read_all_orders"):
            await read(connector, 90)
        _, rows = await read(connector, 45)  # the last 60 days are still whole
    assert len(by_day(rows)) == 45


async def test_90_days_with_read_all_orders_come_back_whole(sandbox: SandboxControl) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        account, rows = await read(build(sandbox, http, Credentials(**sandbox.grant("shopify"))), 90)
    days = by_day(rows)
    assert len(days) == 90 and all(days[d]["orders"] > 0 for d in days)
    assert min(days) == recent(90, account.time_zone).start
