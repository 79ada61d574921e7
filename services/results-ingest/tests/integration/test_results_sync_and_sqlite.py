"""The daily sync, and the backfill worker on both databases (SQLite is the embedded default)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import EXECUTIVE, SandboxControl, as_user, run_sync, running_service, seed_client, settings_for

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.db.models import CampaignDaily, Connection
from clientpulse.results_ingest.domain.ingest import account_today
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.reporting import CampaignSort, campaign_table
from clientpulse.results_ingest.domain.windows import reread_window
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.shared.db import Database, migrate
from clientpulse.shared.messaging import outbox
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


async def test_backfill_with_a_token_refresh_completes_on_each_database(
    database_url: str, nats_url: str, sandbox: SandboxControl
) -> None:
    client_id = f"c-db-{database_url.split(':')[0]}"
    async with running_service(database_url, nats_url, sandbox.url) as api:
        await seed_client(database_url, client_id)
        for platform, account in (("google_ads", "7200"), ("tiktok_ads", "7300")):
            grant = sandbox.grant(platform)
            response = await api.post(
                f"/api/v1/clients/{client_id}/connections",
                json={"platform": platform, "account_id": account, "method": "token", **grant},
                headers=as_user(EXECUTIVE),
            )
            assert response.status_code == 201, response.text
        # Both tokens die mid-backfill: the worker refreshes them (TikTok rotates its refresh token).
        sandbox.queue("google_ads", "7200", "expired_token")
        sandbox.queue("tiktok_ads", "7300", "expired_token")
        started = await api.post(
            f"/api/v1/clients/{client_id}/results/backfills", json={"days": 60}, headers=as_user(EXECUTIVE)
        )
        assert started.status_code == 202
        second = await api.post(
            f"/api/v1/clients/{client_id}/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
        )
        assert second.status_code == 409
        location = started.headers["Location"]

        async def finished() -> bool:
            return (await api.get(location, headers=as_user(EXECUTIVE))).json()["status"] in ("completed", "failed")

        assert await wait_until(finished, within=60)
        done = (await api.get(location, headers=as_user(EXECUTIVE))).json()
        assert done["status"] == "completed", done
        connections = (await api.get(f"/api/v1/clients/{client_id}/connections", headers=as_user(EXECUTIVE))).json()[
            "items"
        ]
        assert {c["status"] for c in connections} == {"connected"}
        # The rotated refresh token was stored: a later refresh with it works.
        sandbox.queue("tiktok_ads", "7300", "expired_token")
        tiktok = next(c for c in connections if c["platform"] == "tiktok_ads")
        tested = await api.post(
            f"/api/v1/clients/{client_id}/connections/{tiktok['id']}/test", headers=as_user(EXECUTIVE)
        )
        assert tested.json()["status"] == "connected", tested.json()
    database = Database(database_url)
    async with database.transaction() as session:
        days = await session.scalar(
            select(func.count(func.distinct(CampaignDaily.day))).where(CampaignDaily.client_id == client_id)
        )
    await database.dispose()
    assert days == 60


async def test_sync_rereads_each_window_marks_older_days_final_and_announces_it(
    postgres_url: str, sandbox: SandboxControl
) -> None:
    settings = settings_for(sandbox.url, database_url=postgres_url)
    await migrate(MIGRATIONS, postgres_url)
    await seed_client(postgres_url, "c-sync")
    database = Database(postgres_url)
    from clientpulse.results_ingest.secrets_vault import SecretBox
    from clientpulse.shared.db import utcnow

    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    async with database.transaction() as session:
        for platform, account in (("meta_ads", "7400"), ("tiktok_ads", "7500")):
            session.add(
                Connection(
                    id=f"conn-{account}",
                    client_id="c-sync",
                    platform=platform,
                    account_id=account,
                    account_name=None,
                    status="connected",
                    status_message=None,
                    created_at=utcnow(),
                    created_by="u-exec",
                    auth_kind="api_key",
                    secret=box.seal(sandbox.grant(platform)),
                )
            )
        session.add(
            Connection(
                id="conn-dead",
                client_id="c-sync",
                platform="google_ads",
                account_id="7600",
                account_name=None,
                status="connected",
                status_message=None,
                created_at=utcnow(),
                created_by="u-exec",
                auth_kind="api_key",
                secret=box.seal({"access_token": "sbx-no-refresh"}),
            )
        )
    sandbox.queue("google_ads", "7600", "expired_token")
    sandbox.queue("meta_ads", "7400", "throttle", "server_error")
    report = await run_sync(settings, database)
    assert (report.synced, report.failed) == (2, 1)
    assert "google_ads account 7600" in report.failures[0]
    async with database.transaction() as session:
        dead = await session.get(Connection, "conn-dead")
        assert dead is not None and dead.status == "expired"
        meta_days = (
            await session.execute(
                select(CampaignDaily.day, CampaignDaily.is_final).where(CampaignDaily.connection_id == "conn-7400")
            )
        ).all()
        events = [json.loads(row.payload) for row in (await session.execute(select(outbox))).all()]
    await database.dispose()
    window = reread_window(REGISTRY.get("meta_ads").reread_days, account_today("America/Los_Angeles"))
    assert {d for d, _ in meta_days} == {window.start + timedelta(days=i) for i in range(28)}
    assert not any(final for _, final in meta_days)  # all 28 days are still inside Meta's re-read window
    synced = [e for e in events if e["type"] == "clientpulse.results.v1.sync.completed"]
    assert sorted(e["data"]["platform"] for e in synced) == ["meta_ads", "tiktok_ads"]
    # The sync stored each campaign's 7-day reach: the fatigue flag follows 7-day frequency > 3.0.
    database = Database(postgres_url)
    async with database.transaction() as session:
        week = DateRange(window.end - timedelta(days=6), window.end)
        lines = await campaign_table(session, "c-sync", week, CampaignSort.FREQUENCY, True)
    await database.dispose()
    meta_lines = [line for line in lines if line.platform == "meta_ads"]
    assert meta_lines and all(line.seven_day_frequency is not None for line in meta_lines)
    for line in meta_lines:
        assert line.frequency == line.seven_day_frequency  # the table's window is that same week
        assert line.fatigued == (line.seven_day_frequency > 3)
    assert any(line.fatigued for line in lines) and not all(line.fatigued for line in lines)
    meta_event = next(e for e in synced if e["data"]["platform"] == "meta_ads")
    assert meta_event["data"]["days_written"] == 28
    assert {m["metric"] for m in meta_event["data"]["metrics"]} >= {"spend_minor", "impressions", "conversions"}


def test_the_sync_command_says_what_it_did_and_fails_when_a_connection_failed(
    postgres_url: str, sandbox: SandboxControl
) -> None:
    import asyncio
    import os
    import subprocess

    from results_testkit import TEST_KEYS

    from clientpulse.results_ingest.secrets_vault import SecretBox
    from clientpulse.shared.db import utcnow

    asyncio.run(migrate(MIGRATIONS, postgres_url))
    box = SecretBox.from_json(TEST_KEYS)

    async def seed() -> None:
        database = Database(postgres_url)
        async with database.transaction() as session:
            session.add(
                Connection(
                    id="conn-cli",
                    client_id="c-cli",
                    platform="tiktok_ads",
                    account_id="7700",
                    account_name=None,
                    status="connected",
                    status_message=None,
                    created_at=utcnow(),
                    created_by="u-exec",
                    auth_kind="api_key",
                    secret=box.seal(sandbox.grant("tiktok_ads")),
                )
            )
        await database.dispose()

    sandbox.configure("tiktok_ads", "7700", campaigns=3)
    asyncio.run(seed())
    env = {
        **os.environ,
        "CLIENTPULSE_RESULTS_DATABASE_URL": postgres_url,
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": TEST_KEYS,
        "CLIENTPULSE_RESULTS_SANDBOX_URL": sandbox.url,
        "CLIENTPULSE_RESULTS_RETRY_BASE_WAIT": "0.01",
    }
    command = [sys.executable, "-m", "clientpulse.results_ingest.cli", "sync"]
    ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "synced 1 connections, 0 failed, 0 still waiting" in ok.stderr
    assert "21 campaign-days written" in ok.stderr  # 3 campaigns × TikTok's 7 days
    sandbox.queue("tiktok_ads", "7700", *["server_error"] * 6)
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 1
    assert "1 failed" in failed.stderr and "tiktok_ads account 7700" in failed.stderr
    assert "sbx-" not in ok.stderr + failed.stderr  # no token in the output
