"""Results ingest at scale, each figure beside a baseline measured in the same run.

1. Backfill: 90 days × 3 platforms (Meta, Google Ads, TikTok) × 50 campaigns × 20 clients read from the
   platform sandbox (a real HTTP process) by the real connectors, cut into the backfill worker's slices
   (Meta 7 days, Google Ads and TikTok 30) and stored with the worker's idempotent upserts
   (``fetch_window`` + ``store_window``, several slices at once) — rows/s beside a raw bulk insert
   (COPY) of the very same rows into an empty copy of the table.
2. The campaign table of one client over 90 days (``campaign_table``: sums, ratios, sparklines, fatigue)
   with 5 million snapshot rows of other clients stored (generated set-based with ``generate_series``),
   beside the same call when the table holds only that client's rows. Target: < 50 ms. Timed twice:
   the read itself on a pooled connection, and the HTTP route of the service started as it runs
   (``clientpulse-results-ingest serve``) from a client on loopback.

Runs in a fresh PostgreSQL database it creates and drops. Figures are medians over rounds. The backfill
path here skips NATS (the worker's message hop); the measured part is HTTP + parsing + upserts.

usage: python bench/backfill.py [postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--rounds 7] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from clientpulse.platform_sandbox.process import start_sandbox_process
from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.connectors.http import http_client
from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.domain.ingest import ConnectionRef, Runtime, fetch_window, store_window
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.reporting import CampaignSort, campaign_table
from clientpulse.results_ingest.domain.windows import backfill_range, slices
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.client_directory import apply_client_event
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.db import Database, upgrade_to_head
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.testing.servers import create_database, drop_database

SECRET = "bench-identity-secret-of-enough-length-0123"  # noqa: S105 - a throwaway in-process secret
KEYS = '["YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMTI="]'
PLATFORMS = ("meta_ads", "google_ads", "tiktok_ads")
CAMPAIGNS = 50
DAYS = 90
CONCURRENCY = 12


def healthy(process: subprocess.Popen[bytes], port: int, what: str) -> subprocess.Popen[bytes]:
    """The process, once its /healthz answers (it is killed if that takes over 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{what} did not start")


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    return start_sandbox_process(port)


async def seed_connections(database: Database, box: SecretBox, sandbox: str, clients: int) -> list[ConnectionRef]:
    refs = []
    async with httpx.AsyncClient() as http, database.transaction() as session:
        for c in range(clients):
            for p, platform in enumerate(PLATFORMS):
                account = f"{80000 + c * 10 + p}"
                await http.post(
                    f"{sandbox}/_sandbox/accounts",
                    json={"platform": platform, "account_id": account, "campaigns": CAMPAIGNS, "pause_every": 0},
                )
                grant = (await http.post(f"{sandbox}/_sandbox/grants/{platform}")).json()
                connection = Connection(
                    id=f"bench-{c}-{p}",
                    client_id=f"bench-client-{c}",
                    platform=platform,
                    account_id=account,
                    account_name=None,
                    status="connected",
                    status_message=None,
                    created_at=datetime.now(UTC),
                    created_by="bench",
                    auth_kind="api_key",
                    secret=box.seal(grant),
                )
                session.add(connection)
                refs.append(ConnectionRef(connection.id, connection.client_id, platform, account, connection.secret))
    return refs


async def backfill_all(
    settings: ResultsSettings, database: Database, box: SecretBox, refs: list[ConnectionRef]
) -> tuple[float, int, list]:
    window = backfill_range(DAYS, datetime.now(UTC).date())
    work = [(ref, part) for ref in refs for part in slices(window, REGISTRY.get(ref.platform).slice_days)]
    gate = asyncio.Semaphore(CONCURRENCY)
    collected: list = []
    written = 0

    async def one(ref: ConnectionRef, part: DateRange, http: httpx.AsyncClient) -> None:
        nonlocal written
        async with gate:
            fetched = await fetch_window(Runtime(settings, box, http), ref, part, store=None, with_reach=False)
            async with database.transaction() as session:
                stored = await store_window(session, ref, fetched, part)
            written += stored
            collected.extend((ref, fetched.account.time_zone, d) for d in fetched.days)

    started = time.perf_counter()
    async with http_client(settings) as http:
        await asyncio.gather(*(one(ref, part, http) for ref, part in work))
    return time.perf_counter() - started, written, collected


async def bulk_copy_baseline(database: Database, collected: list) -> float:
    """COPY the same rows into an empty copy of campaign_daily: the floor for storing them."""
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS campaign_daily_copy"))
        await connection.execute(text("CREATE TABLE campaign_daily_copy (LIKE campaign_daily INCLUDING ALL)"))
    now = datetime.now(UTC)
    records = [
        (
            ref.id,
            d.campaign_id,
            d.day,
            ref.client_id,
            ref.platform,
            d.campaign_name,
            d.status.value if d.status else None,
            d.status_raw,
            d.creative_title,
            d.currency,
            tz,
            d.spend_minor,
            d.impressions,
            d.clicks,
            d.conversions_e4,
            d.conversion_value_minor,
            d.reach_daily,
            False,
            now,
        )
        for ref, tz, d in collected
    ]
    columns = [
        "connection_id",
        "campaign_id",
        "day",
        "client_id",
        "platform",
        "campaign_name",
        "status",
        "status_raw",
        "creative_title",
        "currency",
        "time_zone",
        "spend_minor",
        "impressions",
        "clicks",
        "conversions_e4",
        "conversion_value_minor",
        "reach_daily",
        "is_final",
        "fetched_at",
    ]
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        started = time.perf_counter()
        await driver.copy_records_to_table("campaign_daily_copy", records=records, columns=columns)
        elapsed = time.perf_counter() - started
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE campaign_daily_copy"))
    return elapsed


FIVE_MILLION = """
INSERT INTO campaign_daily (connection_id, campaign_id, day, client_id, platform, campaign_name, status, status_raw,
    creative_title, currency, time_zone, spend_minor, impressions, clicks, conversions_e4, conversion_value_minor,
    reach_daily, is_final, fetched_at)
SELECT 'filler-' || c || '-' || p, 'cmp-' || k, (:end_day)::date - d, 'filler-client-' || c,
       (ARRAY['meta_ads','google_ads','tiktok_ads'])[p + 1], 'Campaign ' || k, 'ACTIVE', 'ACTIVE', 'Headline', 'USD',
       'UTC', 1000 + (c * 7 + k * 13 + d) % 50000, 5000 + (c + k + d) % 9000, 50 + (k + d) % 300,
       ((c + d) % 40) * 10000, 2000 + (c * k + d) % 90000, 4000 + (c + k) % 7000, d > 28, now()
FROM generate_series(0, :clients - 1) AS c, generate_series(0, 2) AS p, generate_series(1, 50) AS k,
     generate_series(0, 89) AS d
"""


def start_service(url: str, port: int) -> subprocess.Popen[bytes]:
    """The results-ingest service as it runs (``serve``: uvicorn), on this database; no NATS is needed
    for reads (the bus keeps trying in the background)."""
    env = {
        **os.environ,
        "CLIENTPULSE_RESULTS_DATABASE_URL": url,
        "CLIENTPULSE_RESULTS_PORT": str(port),
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": KEYS,
        "CLIENTPULSE_IDENTITY_SECRET": SECRET,
        "CLIENTPULSE_NATS_URL": "nats://127.0.0.1:1",
        "CLIENTPULSE_MIGRATE_ON_START": "false",
        "CLIENTPULSE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "clientpulse.results_ingest.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return healthy(process, port, "the results-ingest service")


def time_route(url: str, client_id: str, window: DateRange, rounds: int) -> float:
    """The same table through the service's HTTP route, as a client of the running service sees it
    (identity, access, JSON, uvicorn, loopback), on a kept-alive connection."""
    port = free_port()
    service = start_service(url, port)
    headers = {IDENTITY_HEADER: sign_identity(Identity("u-exec", Role.EXECUTIVE), SECRET)}
    params = {"start": window.start.isoformat(), "end": window.end.isoformat(), "sort": "roas"}
    timings = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            for _ in range(rounds + 1):
                started = time.perf_counter()
                response = client.get(f"/api/v1/clients/{client_id}/results/campaigns", params=params)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) == CAMPAIGNS * len(PLATFORMS)
    finally:
        service.terminate()
        service.wait(20)
    return statistics.median(timings[1:])


async def time_table(url: str, client_id: str, window: DateRange, rounds: int) -> tuple[float, float]:
    """Median of ``rounds`` calls on one warm pooled connection, and the first call on a new one.

    A fresh engine, so the connection is one that has not read these tables yet: a new PostgreSQL
    backend loads its catalog caches on first use, which the first call pays and a pooled one never
    does again (the backfill's pool would hand out a different, cold connection on every call).
    """
    database = Database(url, pool_size=1)
    timings = []
    try:
        for _ in range(rounds + 1):
            started = time.perf_counter()
            async with database.transaction() as session:
                lines = await campaign_table(session, client_id, window, CampaignSort.SPEND, True)
            timings.append(time.perf_counter() - started)
    finally:
        await database.dispose()
    assert len(lines) == CAMPAIGNS * len(PLATFORMS), len(lines)
    return statistics.median(timings[1:]), timings[0]


async def run(url: str, rounds: int, clients: int) -> None:
    port = free_port()
    sandbox = start_sandbox(port)
    sandbox_url = f"http://127.0.0.1:{port}"
    settings = ResultsSettings(
        database_url=url,
        encryption_keys=KEYS,
        sandbox_url=sandbox_url,
    )
    box = SecretBox.from_json(KEYS)
    database = Database(url, pool_size=CONCURRENCY + 2)
    try:
        refs = await seed_connections(database, box, sandbox_url, clients)
        expected = clients * len(PLATFORMS) * CAMPAIGNS * DAYS
        print(
            f"backfill: {clients} clients × {len(PLATFORMS)} platforms × {CAMPAIGNS} campaigns × {DAYS} days "
            f"= {expected:,} campaign-days from the sandbox"
        )
        elapsed, written, collected = await backfill_all(settings, database, box, refs)
        assert written == len(collected) == expected, (written, len(collected), expected)
        copy_seconds = statistics.median([await bulk_copy_baseline(database, collected) for _ in range(3)])
        # The 270,000 parsed rows are kept only for the baseline; a service holds none of them, and
        # left alive they make every garbage collection during the table timings walk them.
        del collected
        gc.collect()
        print(
            f"  backfill (HTTP + parse + upsert, {CONCURRENCY} slices at once): {elapsed:8.2f} s  "
            f"{written / elapsed:>10,.0f} rows/s"
        )
        print(
            f"  baseline: COPY of the same rows into an empty table: {copy_seconds:8.2f} s  "
            f"{written / copy_seconds:>10,.0f} rows/s"
        )

        window = backfill_range(DAYS, datetime.now(UTC).date())
        async with database.transaction() as session:
            created = ClientCreated(
                client_id="bench-client-0", name="Bench", status=ClientStatus.ACTIVE, created_by="bench"
            )
            await apply_client_event(wrap(created, source="clients"), session)
        only_own, only_own_cold = await time_table(url, "bench-client-0", window, rounds)
        only_own_route = time_route(url, "bench-client-0", window, rounds)
        async with database.engine.begin() as connection:
            count = int((await connection.execute(text("SELECT count(*) FROM campaign_daily"))).scalar_one())
            filler_clients = -(-(5_000_000 - count) // (3 * 50 * 90))
            started = time.perf_counter()
            await connection.execute(text(FIVE_MILLION), {"clients": filler_clients, "end_day": window.end})
            print(
                f"\nloaded {filler_clients * 3 * 50 * 90:,} more snapshot rows in {time.perf_counter() - started:.1f} s"
            )
        async with database.engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE campaign_daily"))
            total = int((await connection.execute(text("SELECT count(*) FROM campaign_daily"))).scalar_one())
        loaded, loaded_cold = await time_table(url, "bench-client-0", window, rounds)
        loaded_route = time_route(url, "bench-client-0", window, rounds)
        print(f"campaign table, one client, {DAYS} days, {CAMPAIGNS * len(PLATFORMS)} campaigns (median of {rounds}):")
        print(
            f"  with {total:,} snapshot rows stored:  query {loaded * 1000:6.1f} ms   "
            f"HTTP route {loaded_route * 1000:6.1f} ms   (target < 50 ms)   first call on a new connection "
            f"{loaded_cold * 1000:6.1f} ms"
        )
        print(
            f"  baseline, only {count:,} rows stored:  query {only_own * 1000:6.1f} ms   "
            f"HTTP route {only_own_route * 1000:6.1f} ms   first call on a new connection "
            f"{only_own_cold * 1000:6.1f} ms"
        )
    finally:
        await database.dispose()
        sandbox.terminate()
        sandbox.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    url = create_database(args.url, prefix="bench_results")
    try:
        upgrade_to_head(MIGRATIONS, url)
        asyncio.run(run(url, args.rounds, args.clients))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
