"""Monthly recalculation of 100,000 Active scored clients over 1,200,000 invoices (the bar in
docs/quality.md: ≤ 10 s including the TierChanged and ScoresRecalculated outbox rows), beside a
baseline measured in the same run on the same data: the single aggregate SQL query of trailing-12-month
revenue per client.

A fresh PostgreSQL database is created (and dropped at the end), migrated, and seeded set-based
with ``generate_series``. Each round restores the seeded scores, forgets the previous run, and
recalculates the same period again, so every round does the full work: revenue aggregation,
banding, rescoring, the changed rows' update, their receipts, their TierChanged outbox rows and
the ScoresRecalculated parts carrying every moved score (1,000 clients an event),
the run row and RecalculationCompleted, in one transaction. The figures are medians over rounds.

With ``--relay`` it also times, after the last round and outside the target, how long the shared
outbox relay takes to publish that round's TierChanged rows to a local nats-server (JetStream).

usage: python bench/recalculation.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                     [--clients 100000] [--invoices-per-client 12] [--rounds 3] [--relay]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from clientpulse.shared.contracts import Stream
from clientpulse.shared.db import Database, migrate
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging import EventBus
from clientpulse.shared.money import ExchangeRate, RateTable
from clientpulse.shared.testing.servers import create_database, drop_database
from clientpulse.tiering.app import MIGRATIONS
from clientpulse.tiering.domain.recalculation import revenue_window, run_recalculation
from clientpulse.tiering.domain.revenue import RevenueDesk

PERIOD = "2026-11"
TARGET_SECONDS = 10.0

# Human ratings r = 1..5 on every human dimension: human points 0.65 r; the seeded money band is 1
# (no revenue known yet), so the recalculation moves most clients' tiers.
SEED = """
INSERT INTO client_directory (client_id, name, status, dm_id, squad_id)
SELECT 'c-' || lpad(g::text, 7, '0'), 'Client ' || g, 'Active', 'u-' || (g % 50), 's-' || (g % 10)
FROM generate_series(1, :clients) AS g;

INSERT INTO client_scores (client_id, track, ratings, ratings_recorded_at, ratings_recorded_by, human_points,
    money_weight, revenue_base_minor, revenue_currency, revenue_source, money_rating, score, computed_tier,
    framework_version, effective_tier, receipt_id, updated_at)
SELECT 'c-' || lpad(g::text, 7, '0'), 'managed_delivery',
       json_build_object('profitability', 1 + g % 5, 'strategic_value', 1 + g % 5, 'relationship_quality', 1 + g % 5),
       now(), 'bench', 0.65 * (1 + g % 5), 0.35, 0, 'EUR', 'none', 1, 0.65 * (1 + g % 5) + 0.35,
       CASE WHEN 0.65 * (1 + g % 5) + 0.35 >= 4 THEN 'Platinum' WHEN 0.65 * (1 + g % 5) + 0.35 >= 3 THEN 'Core'
            WHEN 0.65 * (1 + g % 5) + 0.35 >= 2 THEN 'Standard' ELSE 'Review' END,
       1, 'x', 'seed-' || g, now()
FROM generate_series(1, :clients) AS g;

UPDATE client_scores SET effective_tier = computed_tier;

INSERT INTO ledger_invoices (invoice_id, client_id, number, issued_on, amount_minor, currency, is_credit_note,
    event_id, recorded_at)
SELECT 'inv-' || c || '-' || m, 'c-' || lpad(c::text, 7, '0'), NULL,
       (CAST(:window_start AS date) + make_interval(months => m - 1, days => c % 28))::date,
       -- per month EUR 0 – 40,000: yearly revenue spreads over every band
       ((c * 7919 + m * 104729) % 4000000)::bigint,
       'EUR', false, 'bench', now()
FROM generate_series(1, :clients) AS c, generate_series(1, :invoices_per_client) AS m;
"""

RESET = """
UPDATE client_scores SET revenue_base_minor = 0, revenue_source = 'none', money_rating = 1,
    score = human_points + money_weight, computed_tier = CASE WHEN human_points + money_weight >= 4 THEN 'Platinum'
        WHEN human_points + money_weight >= 3 THEN 'Core' WHEN human_points + money_weight >= 2 THEN 'Standard'
        ELSE 'Review' END;
UPDATE client_scores SET effective_tier = computed_tier;
DELETE FROM score_receipts;
DELETE FROM outbox;
DELETE FROM recalculation_runs;
VACUUM ANALYZE client_scores;
VACUUM ANALYZE score_receipts;
VACUUM ANALYZE outbox;
"""

BASELINE = """
SELECT client_id, SUM(amount_minor) FROM ledger_invoices
WHERE issued_on >= :since AND issued_on <= :until GROUP BY client_id
"""


async def run_statements(database: Database, script: str, params: dict[str, object] | None = None) -> None:
    async with database.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in (s.strip() for s in script.split(";")):
            if statement:
                await connection.execute(
                    text(statement), {k: v for k, v in (params or {}).items() if f":{k}" in statement}
                )


async def time_relay(database: Database) -> tuple[int, float]:
    """Publish every pending outbox row through the shared relay to a fresh local JetStream."""
    with tempfile.TemporaryDirectory() as folder:
        server = NatsServerProcess(Path(folder) / "nats").start()
        bus = EventBus(service="tiering", nats_url=server.url, database=database, outbox_batch_size=1000)
        try:
            await bus.broker.connect()
            await bus.declare_streams([Stream.TIERING])
            published = 0
            began = time.perf_counter()
            while batch := await bus.relay.relay_batch():
                published += batch
            return published, time.perf_counter() - began
        finally:
            await bus.broker.stop()
            server.stop()


async def bench(url: str, clients: int, invoices_per_client: int, rounds: int, relay: bool) -> None:
    start, end = revenue_window(PERIOD)
    print(f"database {url.rsplit('/', 1)[-1]}: migrating and seeding {clients:,} clients, "
          f"{clients * invoices_per_client:,} invoices ...", flush=True)  # fmt: skip
    await migrate(MIGRATIONS, url)
    database = Database(url)
    try:
        began = time.perf_counter()
        await run_statements(
            database, SEED, {"clients": clients, "invoices_per_client": invoices_per_client, "window_start": start}
        )
        await run_statements(database, "VACUUM ANALYZE ledger_invoices; VACUUM ANALYZE client_scores")
        print(f"seeded in {time.perf_counter() - began:.1f}s", flush=True)
        rates = RateTable("EUR", [ExchangeRate("USD", date(2020, 1, 1), Decimal("0.9"))])
        baseline: list[float] = []
        recalc: list[float] = []
        changed = 0
        for round_number in range(1, rounds + 1):
            await run_statements(database, RESET)
            began = time.perf_counter()
            async with database.transaction() as session:
                rows = (await session.execute(text(BASELINE), {"since": start, "until": end})).all()
            baseline.append(time.perf_counter() - began)
            began = time.perf_counter()
            async with database.transaction() as session:
                run = await run_recalculation(
                    session, period=PERIOD, requested_by="bench", event_id=f"bench-{round_number}", rates=rates,
                    now=datetime.now(UTC), desk=RevenueDesk(rates),
                )  # fmt: skip
            recalc.append(time.perf_counter() - began)
            assert run is not None
            changed = run.changed
            async with database.transaction() as session:
                outbox_rows = int(await session.scalar(text("SELECT COUNT(*) FROM outbox")) or 0)
            print(
                f"round {round_number}: baseline {baseline[-1]:.2f}s ({len(rows):,} clients), recalculation "
                f"{recalc[-1]:.2f}s (recalculated {run.recalculated:,}, tier changes {run.changed:,}, "
                f"outbox rows {outbox_rows:,})",
                flush=True,
            )
        base, full = statistics.median(baseline), statistics.median(recalc)
        print()
        print(f"baseline: one aggregate query, trailing-12-month revenue per client   median {base:.2f}s")
        print(f"recalculation incl. {changed:,} TierChanged + ScoresRecalculated outbox rows, receipts   "
              f"median {full:.2f}s "
              f"({full / base:.1f}× the baseline; target ≤ {TARGET_SECONDS:.0f}s: "
              f"{'met' if full <= TARGET_SECONDS else 'NOT met'})")  # fmt: skip
        if relay:
            published, seconds = await time_relay(database)
            print(f"outbox relay: published {published:,} events to JetStream in {seconds:.1f}s "
                  f"({published / seconds:,.0f}/s; after the commit, not part of the target)")  # fmt: skip
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--invoices-per-client", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--relay", action="store_true", help="also time publishing the events to NATS")
    args = parser.parse_args()
    url = create_database(args.url, prefix="bench_recalculation")
    try:
        asyncio.run(bench(url, args.clients, args.invoices_per_client, args.rounds, args.relay))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
