"""A backfill worker killed mid-backfill: the restarted service resumes from the checkpoints and ends
with the same totals as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import EXECUTIVE, SECRET, TEST_KEYS, SandboxControl, as_user, seed_client

from clientpulse.results_ingest.db.repositories.campaign_days import CampaignDayRepository
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

ACCOUNTS = (("meta_ads", "9900"), ("google_ads", "9901"), ("tiktok_ads", "9902"))


@contextmanager
def service_process(database_url: str, nats_url: str, sandbox_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``clientpulse-results-ingest serve`` as its own process (killed, not stopped, by the test)."""
    env = dict(os.environ)
    env.update(
        {
            "CLIENTPULSE_RESULTS_DATABASE_URL": database_url,
            "CLIENTPULSE_NATS_URL": nats_url,
            "CLIENTPULSE_IDENTITY_SECRET": SECRET,
            "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": TEST_KEYS,
            "CLIENTPULSE_RESULTS_SANDBOX_URL": sandbox_url,
            # A killed worker's unacknowledged slices come back after this many seconds.
            "CLIENTPULSE_RESULTS_CONSUMER_ACK_WAIT": "3",
            "CLIENTPULSE_RESULTS_OUTBOX_POLL_INTERVAL": "0.1",
            "CLIENTPULSE_LOG_LEVEL": "WARNING",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "clientpulse.results_ingest.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


async def ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{base}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def status(base: str, location: str) -> dict:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{base}{location}", headers=as_user(EXECUTIVE))).json()


async def test_a_killed_worker_resumes_and_ends_with_the_same_totals(
    postgres_url: str, nats_url: str, sandbox: SandboxControl
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for platform, account in ACCOUNTS:
        sandbox.configure(platform, account, campaigns=5, latency=0.0)
    with service_process(postgres_url, nats_url, sandbox.url, port) as first:
        assert await wait_until(lambda: ready(base), within=60)
        locations = {}
        for client_id in ("c-calm", "c-killed"):
            await seed_client(postgres_url, client_id)
            async with httpx.AsyncClient(base_url=base, headers=as_user(EXECUTIVE)) as http:
                for platform, account in ACCOUNTS:
                    response = await http.post(
                        f"/api/v1/clients/{client_id}/connections",
                        json={
                            "platform": platform,
                            "account_id": account,
                            "method": "token",
                            **sandbox.grant(platform),
                        },
                    )
                    assert response.status_code == 201, response.text
        async with httpx.AsyncClient(base_url=base, headers=as_user(EXECUTIVE)) as http:
            locations["c-calm"] = (
                await http.post("/api/v1/clients/c-calm/results/backfills", json={"days": 90})
            ).headers["Location"]
        assert await wait_until(lambda: _is(base, locations["c-calm"], "completed"), within=60)

        # Meta now answers slowly: its slices are in flight when the worker dies.
        sandbox.configure("meta_ads", "9900", latency=4.0)
        async with httpx.AsyncClient(base_url=base, headers=as_user(EXECUTIVE)) as http:
            locations["c-killed"] = (
                await http.post("/api/v1/clients/c-killed/results/backfills", json={"days": 90})
            ).headers["Location"]

        async def others_done() -> bool:
            state = await status(base, locations["c-killed"])
            return state["status"] == "running" and state["slices_done"] >= 6  # Google's 3 and TikTok's 3

        assert await wait_until(others_done, within=60)
        first.send_signal(signal.SIGKILL)  # mid-slice: Meta's requests are still waiting on the sandbox
        first.wait(10)
    interrupted = await _backfill_row(postgres_url, locations["c-killed"])
    assert interrupted["status"] == "running" and interrupted["slices_done"] < interrupted["slices_total"]

    sandbox.configure("meta_ads", "9900", latency=0.0)
    with service_process(postgres_url, nats_url, sandbox.url, port):
        assert await wait_until(lambda: ready(base), within=60)
        assert await wait_until(lambda: _is(base, locations["c-killed"], "completed"), within=90)
        calm, killed = await status(base, locations["c-calm"]), await status(base, locations["c-killed"])
    assert killed["rows_written"] == calm["rows_written"] > 0
    assert killed["slices_done"] == killed["slices_total"] == calm["slices_total"]
    assert await _totals(postgres_url, "c-killed") == await _totals(postgres_url, "c-calm")


async def _is(base: str, location: str, wanted: str) -> bool:
    return (await status(base, location))["status"] == wanted


async def _backfill_row(database_url: str, location: str) -> dict:
    from clientpulse.results_ingest.db.models import Backfill

    database = Database(database_url)
    async with database.transaction() as session:
        row = await session.get(Backfill, location.rsplit("/", 1)[1])
        assert row is not None
        found = {"status": row.status, "slices_done": row.slices_done, "slices_total": row.slices_total}
    await database.dispose()
    return found


async def _totals(database_url: str, client_id: str) -> dict[str, int]:
    database = Database(database_url)
    async with database.transaction() as session:
        totals = await CampaignDayRepository(session).campaign_totals(client_id)
    await database.dispose()
    return totals
