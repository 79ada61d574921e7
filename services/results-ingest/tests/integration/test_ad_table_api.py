"""The ad table through the service on PostgreSQL and NATS: a backfill stores each ad's copy and days with
its newest window, and ``GET …/results/creatives`` serves the ads with their copy, their sums (which add up to
their campaigns' sums) and ratios from the sums; another squad's Manager gets 404."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import EXECUTIVE, MANAGER_S1, MANAGER_S2, SandboxControl, as_user, running_service, seed_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ACCOUNTS = {"meta_ads": "9501", "google_ads": "9502", "tiktok_ads": "9503"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(results_database: str, nats_url: str, sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(results_database, nats_url, sandbox_url, consumer_backoff=[0.2, 0.5, 1.0]) as client:
        yield client


async def _backfilled(api: httpx.AsyncClient, control: SandboxControl, client_id: str) -> dict:
    for platform, account in ACCOUNTS.items():
        control.configure(platform, account, campaigns=3)
        response = await api.post(
            f"/api/v1/clients/{client_id}/connections",
            json={"platform": platform, "account_id": account, "method": "token", **control.grant(platform)},
            headers=as_user(EXECUTIVE),
        )
        assert response.status_code == 201, response.text
    response = await api.post(
        f"/api/v1/clients/{client_id}/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
    )
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    for _ in range(600):
        state = (await api.get(location, headers=as_user(EXECUTIVE))).json()
        if state["status"] in ("completed", "failed", "partial"):
            break
        await _pause()
    assert state["status"] == "completed", state
    return state


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.1)


async def test_the_ad_table_serves_each_ads_copy_and_numbers_that_add_up_to_its_campaign(
    api: httpx.AsyncClient, sandbox_url: str, results_database: str
) -> None:
    control = SandboxControl(sandbox_url)
    control.clear()
    await seed_client(results_database, "c-ads", squad_id="s-1")
    done = await _backfilled(api, control, "c-ads")
    end = date.fromisoformat(done["window_end"])
    start = end - timedelta(days=6)  # inside every platform's newest slice (Meta's slices are 7 days)
    query = f"start={start}&end={end}"
    response = await api.get(f"/api/v1/clients/c-ads/results/creatives?{query}", headers=as_user(MANAGER_S1))
    assert response.status_code == 200, response.text
    ads = response.json()["items"]
    assert {a["platform"] for a in ads} == set(ACCOUNTS)
    assert all(a["bodies"] for a in ads)
    assert all(a["headlines"] for a in ads if a["platform"] != "tiktok_ads")
    assert [a["spend_minor"] for a in ads] == sorted((a["spend_minor"] for a in ads), reverse=True)
    for a in ads:
        if a["spend_minor"]:
            assert Decimal(a["roas"]) == Decimal(a["revenue_minor"]) / Decimal(a["spend_minor"])
        if a["impressions"]:
            assert Decimal(a["ctr"]) == Decimal(a["clicks"]) / Decimal(a["impressions"])
    summed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for a in ads:
        totals = summed[(a["connection_id"], a["campaign_id"])]
        totals[0] += a["spend_minor"]
        totals[1] += a["clicks"]
        totals[2] += a["revenue_minor"]
    campaigns = (await api.get(f"/api/v1/clients/c-ads/results/campaigns?{query}", headers=as_user(EXECUTIVE))).json()[
        "items"
    ]
    expected = {
        (c["connection_id"], c["campaign_id"]): [c["spend_minor"], c["clicks"], c["revenue_minor"]]
        for c in campaigns
        if c["spend_minor"]
    }
    assert dict(summed) == expected

    other = await api.get(f"/api/v1/clients/c-ads/results/creatives?{query}", headers=as_user(MANAGER_S2))
    assert other.status_code == 404
    backwards = await api.get(
        f"/api/v1/clients/c-ads/results/creatives?start={end}&end={start}", headers=as_user(EXECUTIVE)
    )
    assert backwards.status_code == 422 and "end is before start" in backwards.text
    missing = await api.get("/api/v1/clients/c-ads/results/creatives", headers=as_user(EXECUTIVE))
    assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
