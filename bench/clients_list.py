"""The client list at 10,000 clients: a filtered first page through the clients service's real HTTP route
against the same filtered query run as plain SQL on the same data, in the same run (issue: < 100 ms).

Seeds 10,000 companies and client profiles with set-based INSERT … SELECT (not through HTTP) in a fresh
PostgreSQL database it creates and drops, then asks through the Litestar app in-process
(``AsyncTestClient``: routing, identity check, validation, repository, serialisation) for
- as a Manager of squad s-3: ``GET /api/v1/clients?status=Active&tier=Core&health_band=Amber&limit=50``;
- as an Executive: ``GET /api/v1/clients?status=Active&health_band=Red&sort=-health&limit=50``.
Each is timed beside the same page as plain SQL. Figures are medians over rounds.

usage: python bench/clients_list.py [postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--rounds 7] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from clientpulse.clients.app import MIGRATIONS, create_app
from clientpulse.clients.settings import ClientsSettings
from clientpulse.shared.db import Database, upgrade_to_head
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.testing.servers import create_database, drop_database

SECRET = "bench-identity-secret-of-enough-length-0123"  # noqa: S105 - a throwaway in-process secret
CLIENTS = 10_000
MANAGER = Identity("u-3", Role.MANAGER, "s-3")
EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)

SEED = [
    """INSERT INTO companies (id, name, name_key, domain, industry, created_at, updated_at)
       SELECT 'c-' || lpad(n::text, 6, '0'), 'Company ' || n, 'company ' || n, NULL, NULL, now(), now()
       FROM generate_series(1, :n) AS n""",
    """INSERT INTO clients (id, status, dm_id, squad_id, created_at, created_by, status_changed_at, active_since,
                            tier, tier_at, health_score, health_band, qbr_due_on)
       SELECT 'c-' || lpad(n::text, 6, '0'),
              (ARRAY['Active', 'Active', 'Prospect', 'Dormant', 'Alumni'])[1 + (n / 10) % 5],
              'u-' || (n % 40), 's-' || (n % 10), now(), 'bench', now(), current_date - (n % 400),
              (ARRAY['Platinum', 'Core', 'Standard', 'Review', NULL])[1 + (n / 50) % 5],
              CASE WHEN (n / 50) % 5 = 4 THEN NULL ELSE now() END,
              h, CASE WHEN h >= 70 THEN 'Green' WHEN h >= 40 THEN 'Amber' ELSE 'Red' END,
              current_date - (n % 400) + 365
       FROM generate_series(1, :n) AS n, LATERAL (SELECT (n * 37) % 101 AS h) AS s""",
]

# Each page as the route asks for it, and as plain SQL (visibility, filters, order, limit, company join).
CASES = [
    (
        "manager, status+tier+band",
        MANAGER,
        "/api/v1/clients?status=Active&tier=Core&health_band=Amber&limit=50",
        text(
            """SELECT c.*, co.* FROM clients c JOIN companies co ON co.id = c.id
               WHERE (c.dm_id = 'u-3' OR c.squad_id = 's-3') AND c.status = 'Active' AND c.tier = 'Core'
                 AND c.health_band = 'Amber'
               ORDER BY c.id LIMIT 51"""
        ),
    ),
    (
        "executive, status+band by -health",
        EXECUTIVE,
        "/api/v1/clients?status=Active&health_band=Red&sort=-health&limit=50",
        text(
            """SELECT c.*, co.* FROM clients c JOIN companies co ON co.id = c.id
               WHERE c.status = 'Active' AND c.health_band = 'Red'
               ORDER BY coalesce(c.health_score, -1) DESC, c.id DESC LIMIT 51"""
        ),
    ),
]


async def measure(url: str, rounds: int, requests: int) -> list[tuple[str, str, int, list[float], list[float]]]:
    database = Database(url)
    async with database.transaction() as session:
        for statement in SEED:
            await session.execute(text(statement), {"n": CLIENTS})
    async with database.transaction() as session:
        await session.execute(text("ANALYZE"))
    settings = ClientsSettings(
        database_url=url, nats_url="nats://127.0.0.1:1", identity_secret=SECRET, migrate_on_start=False
    )
    results = []
    async with AsyncTestClient(create_app(settings)) as api:
        for label, identity, query, baseline in CASES:
            headers = {IDENTITY_HEADER: sign_identity(identity, SECRET)}
            first = await api.get(query, headers=headers)
            assert first.status_code == 200, first.text
            route: list[float] = []
            sql: list[float] = []
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(requests):
                    response = await api.get(query, headers=headers)
                    assert response.status_code == 200
                route.append((time.perf_counter() - started) / requests * 1000)
                started = time.perf_counter()
                for _ in range(requests):
                    async with database.transaction() as session:
                        (await session.execute(baseline)).all()
                sql.append((time.perf_counter() - started) / requests * 1000)
            results.append((label, query, len(first.json()["items"]), route, sql))
    await database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the app's NATS connection attempts are beside the point here
    url = create_database(args.url, prefix="bench_clients")
    try:
        upgrade_to_head(MIGRATIONS, url)
        results = asyncio.run(measure(url, args.rounds, args.requests))
    finally:
        drop_database(url)
    print(f"clients list, {CLIENTS:,} clients, filtered first pages, medians over {args.rounds} rounds")
    for label, query, rows, route, sql in results:
        median = statistics.median(route)
        print(f"  {label}: {query} ({rows} rows)")
        print(f"    HTTP route (in-process app) {median:7.2f} ms/request")
        print(f"    plain SQL baseline          {statistics.median(sql):7.2f} ms/query  (same filters, same data)")
        print(f"    target < 100 ms: {'met' if median < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
