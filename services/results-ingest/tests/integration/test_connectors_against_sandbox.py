"""The real connectors over HTTP against the sandbox process, with every fault it can inject:
the same days come back, none twice and none missing."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, VirtualClock, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials, GaveUp, PlatformConnector, ReconnectRequired
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import CampaignDay, CampaignStatus
from clientpulse.results_ingest.platforms.google_ads.connector import CAMPAIGN_QUERY, GoogleAdsConnector

WINDOW = DateRange(date(2026, 8, 1), date(2026, 9, 14))  # 45 days: TikTok needs two 30-day requests


def build(
    platform: str,
    url: str,
    http: httpx.AsyncClient,
    credentials: Credentials,
    account: str,
    clock: VirtualClock | None = None,
    refreshed: list[Credentials] | None = None,
    attempts: int = 10,
) -> PlatformConnector:
    connector, _ = platform_connector(
        platform, settings_for(url), http, credentials, account, clock=clock, refreshed=refreshed, attempts=attempts
    )
    return connector


def by_key(days: list[CampaignDay]) -> dict[tuple[str, date], CampaignDay]:
    keyed = {(d.campaign_id, d.day): d for d in days}
    assert len(keyed) == len(days), "a campaign-day came back twice"
    return keyed


async def fetch(connector: PlatformConnector) -> list[CampaignDay]:
    account = await connector.account_info()
    return await connector.campaign_days(WINDOW, account)


@pytest.mark.parametrize(
    ("platform", "account", "faults"),
    [
        (
            "meta_ads",
            "1001",
            ["rate_limit:2", "server_error", "server_error", "server_error", "malformed", "throttle", "throttle_17"],
        ),
        (
            "google_ads",
            "2002",
            ["rate_limit:2", "server_error", "server_error", "malformed", "throttle", "expired_token"],
        ),
        (
            "tiktok_ads",
            "3003",
            ["rate_limit:2", "server_error", "server_error", "malformed", "throttle", "expired_token", "throttle"],
        ),
    ],
)
async def test_every_fault_yields_the_same_days_as_a_clean_read(
    sandbox: SandboxControl, platform: str, account: str, faults: list[str]
) -> None:
    grant = sandbox.grant(platform)
    async with httpx.AsyncClient(timeout=10) as http:
        clean = by_key(await fetch(build(platform, sandbox.url, http, Credentials(**grant), account)))
        sandbox.queue(platform, account, *faults)
        clock, refreshed = VirtualClock(), []
        faulted = by_key(
            await fetch(build(platform, sandbox.url, http, Credentials(**grant), account, clock, refreshed))
        )
    assert faulted == clean
    days = {d for _, d in clean}
    assert days == {date(2026, 8, 1) + (date(2026, 8, 2) - date(2026, 8, 1)) * i for i in range(WINDOW.days)}
    assert 2.0 in clock.slept  # Retry-After: 2 was honoured
    assert len(clock.slept) >= len([f for f in faults if f != "expired_token"])
    if "expired_token" in faults:
        assert len(refreshed) == 1 and refreshed[0].access_token != grant["access_token"]


async def test_money_is_in_minor_units_of_the_account_currency(sandbox: SandboxControl) -> None:
    sandbox.configure("google_ads", "2100", currency="JPY", campaigns=2)
    grant = sandbox.grant("google_ads")
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build("google_ads", sandbox.url, http, Credentials(**grant), "2100")
        assert isinstance(connector, GoogleAdsConnector)
        days = await fetch(connector)
        raw = await connector.search(CAMPAIGN_QUERY.format(start="2026-08-01", end="2026-08-01"))
    assert {d.currency for d in days} == {"JPY"}
    first = next(d for d in days if d.day == date(2026, 8, 1) and d.campaign_id == raw[0]["campaign"]["id"])
    assert first.spend_minor == round(int(raw[0]["metrics"]["costMicros"]) / 1_000_000)


async def test_google_search_follows_next_page_tokens(sandbox: SandboxControl) -> None:
    sandbox.configure("google_ads", "2200", campaigns=4)
    grant = sandbox.grant("google_ads")
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build("google_ads", sandbox.url, http, Credentials(**grant), "2200")
        assert isinstance(connector, GoogleAdsConnector)
        rows = await connector.search(CAMPAIGN_QUERY.format(start="2026-08-01", end="2026-08-10"))
        streamed = await connector.campaign_days(
            DateRange(date(2026, 8, 1), date(2026, 8, 10)), await connector.account_info()
        )
    # The sandbox pages every 7 rows: 10 days × the delivering campaigns needs several pages.
    assert len(rows) == len(streamed) > 7
    assert len({(r["campaign"]["id"], r["segments"]["date"]) for r in rows}) == len(rows)


async def test_meta_paginates_and_names_each_campaigns_headline_and_status(sandbox: SandboxControl) -> None:
    sandbox.configure("meta_ads", "1100", campaigns=6)
    grant = sandbox.grant("meta_ads")
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build("meta_ads", sandbox.url, http, Credentials(**grant), "1100")
        days = await fetch(connector)
    # 5 delivering campaigns × 45 days is more than one 500-row page.
    assert len(days) == 5 * 45
    assert all(d.creative_title for d in days)
    assert {d.status for d in days} == {CampaignStatus.ACTIVE}


async def test_a_dead_meta_token_asks_for_a_reconnect_with_metas_message(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("meta_ads")
    sandbox.queue("meta_ads", "1200", "expired_token")
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(ReconnectRequired, match="Session has expired"):
            await fetch(build("meta_ads", sandbox.url, http, Credentials(**grant), "1200"))


async def test_tiktok_rotates_refresh_tokens_and_the_old_one_is_spent(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("tiktok_ads")
    sandbox.queue("tiktok_ads", "3100", "expired_token")
    refreshed: list[Credentials] = []
    async with httpx.AsyncClient(timeout=10) as http:
        await fetch(build("tiktok_ads", sandbox.url, http, Credentials(**grant), "3100", refreshed=refreshed))
        assert refreshed[0].refresh_token != grant["refresh_token"]
        sandbox.queue("tiktok_ads", "3100", "expired_token")
        stale = Credentials(access_token=refreshed[0].access_token, refresh_token=grant["refresh_token"])
        with pytest.raises(ReconnectRequired):
            await fetch(build("tiktok_ads", sandbox.url, http, stale, "3100"))


async def test_a_platform_that_keeps_failing_is_given_up_on(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("tiktok_ads")
    sandbox.queue("tiktok_ads", "3200", *["server_error"] * 6)
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(GaveUp, match="6 attempts"):
            await fetch(build("tiktok_ads", sandbox.url, http, Credentials(**grant), "3200", attempts=6))


async def test_period_reach_is_below_the_sum_of_daily_reach(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("meta_ads")
    week = DateRange(date(2026, 9, 1), date(2026, 9, 7))
    async with httpx.AsyncClient(timeout=10) as http:
        connector = build("meta_ads", sandbox.url, http, Credentials(**grant), "1001")
        reach = await connector.period_reach(week)
        days = await connector.campaign_days(week, await connector.account_info())
    for campaign_id, (people, impressions) in reach.items():
        daily = [d for d in days if d.campaign_id == campaign_id]
        assert impressions == sum(d.impressions for d in daily)
        assert max(d.reach_daily or 0 for d in daily) <= people < sum(d.reach_daily or 0 for d in daily)
