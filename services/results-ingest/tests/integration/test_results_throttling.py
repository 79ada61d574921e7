"""Throttles that name a wait, Meta's app-wide limit shared by every worker, tokens that end, and a
manager's client accounts: through the running service on PostgreSQL and NATS, against the sandbox."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import (
    EXECUTIVE,
    SandboxControl,
    VirtualClock,
    as_user,
    run_sync,
    running_service,
    seed_client,
    settings_for,
)

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.connectors.base import ScaledClock
from clientpulse.results_ingest.db.models import BackfillSlice, Connection
from clientpulse.results_ingest.pauses import NatsPauses
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.shared.db import Database, migrate, utcnow
from clientpulse.shared.messaging import outbox
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


async def _connect(api: httpx.AsyncClient, sandbox: SandboxControl, client_id: str, platform: str, account: str,
                   **extra: Any) -> dict[str, Any]:  # fmt: skip
    grant = sandbox.grant(platform)
    response = await api.post(
        f"/api/v1/clients/{client_id}/connections",
        json={"platform": platform, "account_id": account, "method": "token", **grant, **extra},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_90_day_backfill_waits_out_a_stated_meta_throttle_and_completes(
    postgres_url: str, nats_url: str, sandbox: SandboxControl
) -> None:
    # The service's clock runs 600× faster: Meta's "wait 10 minutes" takes one real second.
    async with running_service(postgres_url, nats_url, sandbox.url, clock=ScaledClock(600)) as api:
        await seed_client(postgres_url, "c-wait")
        sandbox.configure("meta_ads", "9500", campaigns=3)
        sandbox.configure("tiktok_ads", "9501", campaigns=2)
        meta = await _connect(api, sandbox, "c-wait", "meta_ads", "9500")
        await _connect(api, sandbox, "c-wait", "tiktok_ads", "9501")
        # Part-way through (the 10th Meta request), Meta says: come back in 10 minutes.
        sandbox.queue("meta_ads", "9500", *["none"] * 9, "throttle_once:10")
        started = await api.post(
            "/api/v1/clients/c-wait/results/backfills", json={"days": 90}, headers=as_user(EXECUTIVE)
        )
        assert started.status_code == 202
        location = started.headers["Location"]
        seen: dict[str, Any] = {}

        async def finished() -> bool:
            state = (await api.get(location, headers=as_user(EXECUTIVE))).json()
            if state["waiting_until"]:
                seen["waiting_until"] = state["waiting_until"]
            connections = (await api.get("/api/v1/clients/c-wait/connections", headers=as_user(EXECUTIVE))).json()
            for item in connections["items"]:
                if item["throttled_until"]:
                    seen["throttled"] = item
            return state["status"] in ("completed", "failed")

        assert await wait_until(finished, within=90, interval=0.1)
        done = (await api.get(location, headers=as_user(EXECUTIVE))).json()
        after = (await api.get("/api/v1/clients/c-wait/connections", headers=as_user(EXECUTIVE))).json()
    assert done["status"] == "completed", done
    assert done["rows_written"] == (3 + 2) * 90
    assert done["slices_done"] == done["slices_total"] == 13 + 3  # Meta in 7-day slices, TikTok in 30
    # While it waited, the connection stayed connected and said until when.
    assert seen.get("throttled", {}).get("status") == "connected" and seen["throttled"]["id"] == meta["id"]
    assert {c["status"] for c in after["items"]} == {"connected"}
    assert all(c["throttled_until"] is None for c in after["items"])  # cleared by the next good read
    db = Database(postgres_url)
    async with db.transaction() as session:
        deferred = (
            await session.scalars(
                select(BackfillSlice).where(BackfillSlice.backfill_id == done["id"], BackfillSlice.deferrals > 0)
            )
        ).all()
    await db.dispose()
    assert deferred and all(s.status == "done" and s.waiting_until is None for s in deferred)


async def test_meta_app_limit_pauses_every_worker_through_nats(nats_url: str) -> None:
    import nats

    first, second = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        one, other = NatsPauses(lambda: first), NatsPauses(lambda: second)
        until = datetime.now(UTC) + timedelta(minutes=5)
        await one.pause("meta_ads.app.test", until, "code 4")
        assert await other.until("meta_ads.app.test") == until
        await other.pause("meta_ads.app.test", until - timedelta(minutes=1), "an earlier end is not kept")
        await one.pause("meta_ads.app.test-other", until, "other scope")
        assert await NatsPauses(lambda: second).until("meta_ads.app.test") == until
    finally:
        await first.close()
        await second.close()


async def _seed_connection(
    database: Database, box: SecretBox, connection_id: str, platform: str, account: str, secret: dict[str, Any]
) -> None:
    async with database.transaction() as session:
        session.add(
            Connection(
                id=connection_id,
                client_id="c-sync-wait",
                platform=platform,
                account_id=account,
                account_name=None,
                status="connected",
                status_message=None,
                created_at=utcnow(),
                created_by="u-exec",
                auth_kind="oauth",
                secret=box.seal(secret),
            )
        )


async def test_a_sync_waits_for_a_throttled_platform_and_leaves_what_still_waits_connected(
    postgres_url: str, sandbox: SandboxControl
) -> None:
    settings = settings_for(sandbox.url, database_url=postgres_url, sync_max_wait_seconds=1800)
    await migrate(MIGRATIONS, postgres_url)
    await seed_client(postgres_url, "c-sync-wait")
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    database = Database(postgres_url)
    await _seed_connection(database, box, "conn-w1", "meta_ads", "9601", sandbox.grant("meta_ads"))
    await _seed_connection(database, box, "conn-w2", "meta_ads", "9602", sandbox.grant("meta_ads"))
    await _seed_connection(database, box, "conn-w3", "tiktok_ads", "9603", sandbox.grant("tiktok_ads"))
    # 9601 asks for 20 minutes once; 9602 stays throttled for 90 (longer than the sync waits).
    sandbox.queue("meta_ads", "9601", "throttle_once:20")
    sandbox.queue("meta_ads", "9602", "throttle_wait:90")
    clock = VirtualClock()
    report = await run_sync(settings, database, clock=clock)
    assert (report.synced, report.failed) == (2, 0)
    assert len(report.waiting) == 1 and "9602" in report.waiting[0]
    assert 20 * 60 in [round(s) for s in clock.slept]  # it came back for 9601 when Meta said
    async with database.transaction() as session:
        rows = {
            c.id: c
            for c in (await session.scalars(select(Connection).where(Connection.client_id == "c-sync-wait"))).all()
        }
    await database.dispose()
    assert {c.status for c in rows.values()} == {"connected"}
    assert rows["conn-w1"].throttled_until is None and rows["conn-w1"].last_synced_at is not None
    waiting = rows["conn-w2"].throttled_until
    assert waiting is not None and timedelta(minutes=89) < waiting - clock.now() + timedelta(
        seconds=sum(clock.slept)
    ) <= timedelta(minutes=91)


@pytest.mark.parametrize(("kind", "warned"), [("user", True), ("system_user", False)])
async def test_the_dm_is_told_once_before_a_meta_token_that_cannot_be_renewed_ends(
    postgres_url: str, sandbox: SandboxControl, kind: str, warned: bool
) -> None:
    settings = settings_for(sandbox.url, database_url=postgres_url)
    await migrate(MIGRATIONS, postgres_url)
    await seed_client(postgres_url, "c-sync-wait")
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    database = Database(postgres_url)
    grant = httpx.post(f"{sandbox.url}/_sandbox/grants/meta_ads", params={"kind": kind, "expires_in": 3 * 86400}).json()
    ends = datetime.now(UTC) + timedelta(days=3)
    secret = {"access_token": grant["access_token"], "refresh_token": None, "expires_at": ends.isoformat()}
    await _seed_connection(database, box, f"conn-exp-{kind}", "meta_ads", "9700", secret)
    for _ in range(2):
        report = await run_sync(settings, database)
        assert report.failed == 0
    async with database.transaction() as session:
        events = [
            row.payload
            for row in (await session.execute(select(outbox))).all()
            if b"connection.expiring" in bytes(row.payload) and f"conn-exp-{kind}".encode() in bytes(row.payload)
        ]
        connection = await session.get(Connection, f"conn-exp-{kind}")
        await session.delete(connection)
    await database.dispose()
    assert connection is not None and connection.credentials_expire_at is not None
    if warned:
        assert len(events) == 1  # once per ending, however many syncs see it
        assert connection.credentials_expire_at < datetime.now(UTC) + timedelta(days=4)
    else:
        assert events == []  # a system user's token was renewed for another 60 days
        assert connection.credentials_expire_at > datetime.now(UTC) + timedelta(days=50)


async def test_a_manager_connection_lists_its_client_accounts_and_is_pointed_at_one(
    postgres_url: str, nats_url: str, sandbox: SandboxControl
) -> None:
    async with running_service(postgres_url, nats_url, sandbox.url) as api:
        await seed_client(postgres_url, "c-mcc")
        # Without the manager, Google refuses the client account (the platform's message is shown).
        grant = sandbox.grant("google_ads")
        refused = await api.post(
            "/api/v1/clients/c-mcc/connections",
            json={"platform": "google_ads", "account_id": "2002002003", "method": "token", **grant},
            headers=as_user(EXECUTIVE),
        )
        assert refused.status_code == 422 and "login-customer-id" in refused.json()["detail"]
        bad = await api.post(
            "/api/v1/clients/c-mcc/connections",
            json={"platform": "google_ads", "account_id": "9000000001", "method": "token",
                  "options": {"login_customer_id": "nine"}, **grant},
            headers=as_user(EXECUTIVE),
        )  # fmt: skip
        assert bad.status_code == 422 and "login_customer_id" in bad.json()["detail"]
        manager = await _connect(api, sandbox, "c-mcc", "google_ads", "9000000001")
        base = f"/api/v1/clients/c-mcc/connections/{manager['id']}"
        listed = await api.get(f"{base}/accounts", headers=as_user(EXECUTIVE))
        assert listed.status_code == 200, listed.text
        choices = {c["account_id"]: c for c in listed.json()["items"]}
        assert choices["9000000001"]["manager"] is True
        client = choices["2002002003"]
        assert client["options"] == {"login_customer_id": "9000000001"} and client["manager"] is False
        picked = await api.patch(
            base, json={"account_id": "2002002003", "options": client["options"]}, headers=as_user(EXECUTIVE)
        )
        assert picked.status_code == 200, picked.text
        assert picked.json()["account_id"] == "2002002003" and picked.json()["options"] == client["options"]
        tested = await api.post(f"{base}/test", headers=as_user(EXECUTIVE))
        assert tested.json()["status"] == "connected", tested.text
        started = await api.post(
            "/api/v1/clients/c-mcc/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
        )
        location = started.headers["Location"]

        async def finished() -> bool:
            return (await api.get(location, headers=as_user(EXECUTIVE))).json()["status"] in ("completed", "failed")

        assert await wait_until(finished, within=60)
        done = (await api.get(location, headers=as_user(EXECUTIVE))).json()
    assert done["status"] == "completed" and done["rows_written"] > 0, done
