"""A platform added with its module and one registry line is connected, synced and backfilled by the
unchanged engine, on PostgreSQL and NATS."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
import fake_platform
from results_testkit import EXECUTIVE, as_user, metric_lines, run_sync, running_service, seed_client, settings_for
from scripted import Answer, scripted_platform

from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.shared.db import Database
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def fourth_platform() -> Iterator[None]:
    REGISTRY.register(fake_platform.PLATFORM)  # the one registry line
    yield
    REGISTRY.unregister(fake_platform.PLATFORM.key)


async def test_a_registered_platform_is_connected_synced_and_backfilled(
    fourth_platform: None, postgres_url: str, nats_url: str
) -> None:
    async with scripted_platform() as fake:
        fake.script("/fake/accounts/F-1", Answer(200, {"name": "Fake shop", "currency": "EUR", "time_zone": "UTC"}))
        async with running_service(postgres_url, nats_url, fake.url) as api:
            await seed_client(postgres_url, "c-fake")
            created = await api.post(
                "/api/v1/clients/c-fake/connections",
                json={"platform": "fake_ads", "account_id": "F-1", "method": "token", "access_token": "key-1"},
                headers=as_user(EXECUTIVE),
            )
            assert created.status_code == 201, created.text
            assert created.json()["account_name"] == "Fake shop"
            oauth = await api.post(
                "/api/v1/clients/c-fake/connections",
                json={"platform": "fake_ads", "account_id": "F-1"},
                headers=as_user(EXECUTIVE),
            )
            assert oauth.status_code == 422 and "API key" in oauth.json()["detail"]
            started = await api.post(
                "/api/v1/clients/c-fake/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
            )
            location = started.headers["Location"]

            async def finished() -> bool:
                return (await api.get(location, headers=as_user(EXECUTIVE))).json()["status"] in ("completed", "failed")

            assert await wait_until(finished, within=60)
            done = (await api.get(location, headers=as_user(EXECUTIVE))).json()
            assert done["status"] == "completed", done
            assert done["slices_total"] == 3  # 30 days in the platform's own 10-day slices
            assert done["rows_written"] == 2 * 30

            database = Database(postgres_url)
            report = await run_sync(settings_for(fake.url, database_url=postgres_url), database)
            await database.dispose()
            assert (report.synced, report.failed) == (1, 0)

            yesterday = datetime.now(UTC).date() - timedelta(days=1)
            start = yesterday - timedelta(days=29)
            table = await api.get(
                f"/api/v1/clients/c-fake/results/campaigns?start={start}&end={yesterday}", headers=as_user(EXECUTIVE)
            )
            assert table.status_code == 200, table.text
            rows = table.json()["items"]
            assert {r["platform"] for r in rows} == {"fake_ads"} and len(rows) == 2
            assert all(r["reach"] == 600 and r["reach_note"] is None for r in rows)  # its own 30-day figure
            assert all(r["spend_minor"] == 30 * 1000 for r in rows)
            metrics = await api.get(
                f"/api/v1/clients/c-fake/results/metrics?start={start}&end={yesterday}", headers=as_user(EXECUTIVE)
            )
            spend = next(m for m in metric_lines(metrics.json()) if m["metric"] == "spend_minor")
            assert spend["category"] == "advertising" and spend["current"] == str(2 * 30 * 1000)
