"""The unified results view through the real service on PostgreSQL and NATS: a store, a subscription
platform, an analytics property and an ad platform of one client, backfilled 90 days, where the store
refuses its oldest windows. The other platforms are stored whole, the backfill says which part failed
and why, and the metrics come back by category with their units, levels at the period's end, counts
of people for their own window only, ratios from sums and the blended MER across currencies."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
import fake_categories
import fake_platform
from results_testkit import EXECUTIVE, as_user, metric_lines, running_service, seed_client
from scripted import Answer, scripted_platform

from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

USD_IN_EUR = Decimal("0.9")
CLIENT = "c-unified"


@pytest.fixture
def category_platforms() -> Iterator[None]:
    specs = (fake_platform.PLATFORM, *fake_categories.PLATFORMS)
    for spec in specs:
        REGISTRY.register(spec)
    yield
    for spec in specs:
        REGISTRY.unregister(spec.key)


async def _connect(api: httpx.AsyncClient, platform: str, account_id: str) -> None:
    created = await api.post(
        f"/api/v1/clients/{CLIENT}/connections",
        json={"platform": platform, "account_id": account_id, "method": "token", "access_token": "key-1"},
        headers=as_user(EXECUTIVE),
    )
    assert created.status_code == 201, created.text


async def _backfill(api: httpx.AsyncClient) -> dict[str, Any]:
    started = await api.post(
        f"/api/v1/clients/{CLIENT}/results/backfills", json={"days": 90}, headers=as_user(EXECUTIVE)
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]

    async def closed() -> bool:
        status = (await api.get(location, headers=as_user(EXECUTIVE))).json()["status"]
        return status not in ("queued", "running")

    assert await wait_until(closed, within=60)
    return (await api.get(location, headers=as_user(EXECUTIVE))).json()


def _line(lines: list[dict[str, Any]], metric: str, currency: str | None = None) -> dict[str, Any]:
    return next(m for m in lines if m["metric"] == metric and (currency is None or m["currency"] == currency))


def _check_backfill(done: dict[str, Any]) -> None:
    assert done["status"] == "partial", done
    parts = {p["platform"]: p for p in done["parts"]}
    assert set(parts) == {"fake_ads", "fake_store", "fake_subscriptions", "fake_traffic"}
    assert parts["fake_store"]["status"] == "partial"
    failed = [s for s in parts["fake_store"]["slices"] if s["status"] == "failed"]
    assert failed and all("read_all_orders" in s["error"] for s in failed)
    assert all(p["status"] == "done" for k, p in parts.items() if k != "fake_store")
    assert "read_all_orders" in done["error"] and done["slices_failed"] == len(failed)


async def test_every_category_in_one_view_after_a_partly_failed_backfill(
    category_platforms: None, postgres_url: str, nats_url: str
) -> None:
    async with scripted_platform() as fake:
        fake.script("/fake/accounts/F-1", Answer(200, {"name": "Fake ads", "currency": "EUR", "time_zone": "UTC"}))
        rates = [{"currency": "USD", "valid_from": "2020-01-01", "rate": str(USD_IN_EUR)}]
        async with running_service(postgres_url, nats_url, fake.url, exchange_rates=rates) as api:
            await seed_client(postgres_url, CLIENT)
            for platform, account in [
                ("fake_ads", "F-1"),
                ("fake_store", "shop-1"),
                ("fake_subscriptions", "subs-1"),
                ("fake_traffic", "123"),
            ]:
                await _connect(api, platform, account)
            _check_backfill(await _backfill(api))

            yesterday = datetime.now(UTC).date() - timedelta(days=1)
            start = yesterday - timedelta(days=29)
            body = (
                await api.get(
                    f"/api/v1/clients/{CLIENT}/results/metrics?start={start}&end={yesterday}",
                    headers=as_user(EXECUTIVE),
                )
            ).json()
            _check_last_30_days(body, start, yesterday)

            short = (
                await api.get(
                    f"/api/v1/clients/{CLIENT}/results/metrics?start={yesterday - timedelta(days=9)}&end={yesterday}",
                    headers=as_user(EXECUTIVE),
                )
            ).json()
            users = _line(metric_lines(short), "total_users")
            assert users["current"] is None and "cannot be added up over days" in users["note"]

            channels = (
                await api.get(
                    f"/api/v1/clients/{CLIENT}/results/breakdown?dimension=channel_group&start={start}&end={yesterday}",
                    headers=as_user(EXECUTIVE),
                )
            ).json()
            assert {i["member"]: i["metrics"]["sessions"] for i in channels["items"]} == {
                "Organic Search": "900",
                "Paid Search": "600",
            }


def _check_last_30_days(body: dict[str, Any], start: Any, end: Any) -> None:
    order = [c["category"] for c in body["categories"]]
    assert order == ["revenue", "orders", "advertising", "traffic", "subscriptions", "blended"], order
    lines = metric_lines(body)
    net = _line(lines, "net_sales_minor")
    assert (net["category"], net["unit"], net["aggregation"], net["currency"]) == (
        "revenue",
        "money_minor",
        "sum",
        "USD",
    )
    assert Decimal(net["current"]) == 30 * 8_500
    assert Decimal(_line(lines, "orders")["current"]) == 120
    assert Decimal(_line(lines, "aov_minor", "USD")["current"]) == Decimal(9_000) / 4
    active = _line(lines, "active_subscriptions")
    assert active["aggregation"] == "level"
    assert Decimal(active["current"]) == fake_categories.active_on(end)  # the value at the period's end
    churn = _line(lines, "churn_rate")
    assert Decimal(churn["current"]) == Decimal(60) / fake_categories.active_on(start - timedelta(days=1))
    users = _line(lines, "total_users")
    assert (users["aggregation"], Decimal(users["current"])) == ("window_unique", 1030)
    assert Decimal(_line(lines, "engagement_rate")["current"]) == Decimal("0.6")
    spend = _line(lines, "spend_minor")
    assert (Decimal(spend["current"]), spend["currency"]) == (60_000, "EUR")
    mer = _line(lines, "mer")
    # Store revenue in dollars converted day by day, over spend in euros: never an average of ROAS.
    assert Decimal(mer["current"]) == 30 * 8_500 * USD_IN_EUR / 60_000
    per_order = _line(lines, "blended_cost_per_order_minor")
    assert (Decimal(per_order["current"]), per_order["currency"]) == (500, "EUR")
