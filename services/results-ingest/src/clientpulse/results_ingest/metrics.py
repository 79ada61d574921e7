"""Metrics of backfills, platform connectors and connections, exported by the results-ingest service.

- Backfills, their slices and the rows they write are counted once the worker's unit of work has
  committed (a rolled-back attempt is redelivered and counted then).
- Every HTTP request a connector sends is counted by outcome and timed; a throttled answer is also
  counted by the platform's own signal (``http_429``, ``meta_80000``, ``google_resource_exhausted``,
  ``tiktok_40100``, …).
- ``clientpulse_connections`` is read from the connections table every 30 s by each replica, so it
  shows what the daily ``sync`` CronJob (a separate process nobody scrapes) recorded too. Every
  replica exports the same counts: aggregate it with ``max``, not ``sum``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.shared.db import Database, when_unit_ends

_log = logging.getLogger("clientpulse.results_ingest.metrics")

BACKFILL_OUTCOMES = ("completed", "failed")
SLICE_OUTCOMES = ("completed", "failed")
REQUEST_OUTCOMES = ("ok", "throttled", "server_error", "auth_error", "client_error", "transport_error")
CONNECTIONS_REFRESH_SECONDS = 30.0

BACKFILLS = Counter(
    "clientpulse_backfills_total",
    "Backfills closed, by outcome: completed (every slice stored), failed (a platform refused a slice, "
    "retries ran out, or a connection was removed)",
    ["outcome"],
)
BACKFILL_SLICES = Counter(
    "clientpulse_backfill_slices_total",
    "Backfill slices a worker finished, by platform and outcome: completed (stored and checkpointed), "
    "failed (the slice failed its backfill)",
    ["platform", "outcome"],
)
BACKFILL_SLICE_DEFERRALS = Counter(
    "clientpulse_backfill_slice_deferrals_total",
    "Backfill slices put off because the platform asked to wait longer than one request may sleep, by "
    "platform and the platform's signal (the slice is requested again for the time the platform names)",
    ["platform", "signal"],
)
SYNC_THROTTLED = Counter(
    "clientpulse_sync_throttled_total",
    "Connections a sync could not read yet because the platform asked to wait, by platform",
    ["platform"],
)
ROWS_WRITTEN = Counter(
    "clientpulse_results_rows_written_total",
    "Campaign-day rows upserted from platform answers, by platform",
    ["platform"],
)
CONNECTOR_REQUESTS = Counter(
    "clientpulse_connector_requests_total",
    "HTTP requests connectors sent to platforms (each retry counts), by platform and outcome: ok, throttled, "
    "server_error (5xx, an error the platform calls transient, or an unreadable body), auth_error (token "
    "expired or revoked), client_error (the platform refused the request for good), transport_error "
    "(no answer: connection refused or reset, timeout)",
    ["platform", "outcome"],
)
CONNECTOR_THROTTLED = Counter(
    "clientpulse_connector_throttled_total",
    "Throttled platform answers, by platform and the platform's signal (http_429, meta_<error code>, "
    "google_resource_exhausted, tiktok_<code>)",
    ["platform", "signal"],
)
CONNECTOR_REQUEST_SECONDS = Histogram(
    "clientpulse_connector_request_seconds",
    "Time of one platform HTTP request, answer read and interpreted, by platform",
    ["platform"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)
CONNECTIONS = Gauge(
    "clientpulse_connections",
    "Platform connections by platform and stored status (connected, expired, error), read from the "
    "database every 30 s; every replica exports the same counts",
    ["platform", "status"],
)


def preinitialise(platforms: Iterable[str]) -> None:
    """Create every label set dashboards and alerts name, so they are scraped (as 0) before the first event."""
    for outcome in BACKFILL_OUTCOMES:
        BACKFILLS.labels(outcome)
    for platform in platforms:
        for outcome in SLICE_OUTCOMES:
            BACKFILL_SLICES.labels(platform, outcome)
        ROWS_WRITTEN.labels(platform)
        SYNC_THROTTLED.labels(platform)
        for outcome in REQUEST_OUTCOMES:
            CONNECTOR_REQUESTS.labels(platform, outcome)
        CONNECTOR_REQUEST_SECONDS.labels(platform)
        for status in ConnectionStatus:
            CONNECTIONS.labels(platform, status.value)


# --- backfills and rows (counted after commit) -------------------------------------------------


def backfill_closed(session: AsyncSession, outcome: str) -> None:
    """A backfill was closed as ``completed`` or ``failed`` in this unit of work."""
    when_unit_ends(session, committed=BACKFILLS.labels(outcome).inc)


def slice_finished(session: AsyncSession, platform: str, outcome: str) -> None:
    """A backfill slice was finished (``completed`` or ``failed``) in this unit of work."""
    when_unit_ends(session, committed=BACKFILL_SLICES.labels(platform, outcome).inc)


def slice_deferred(session: AsyncSession, platform: str, signal: str) -> None:
    """A backfill slice was put off until the time the platform named, in this unit of work."""
    when_unit_ends(session, committed=BACKFILL_SLICE_DEFERRALS.labels(platform, signal).inc)


def sync_throttled(platform: str) -> None:
    """A sync found a connection's platform asking to wait."""
    SYNC_THROTTLED.labels(platform).inc()


def rows_written(session: AsyncSession, platform: str, rows: int) -> None:
    """``rows`` campaign-day rows were upserted in this unit of work."""
    counter = ROWS_WRITTEN.labels(platform)
    when_unit_ends(session, committed=lambda: counter.inc(rows))


# --- connector requests ------------------------------------------------------------------------


def observe_connector_request(platform: str, outcome: str, seconds: float, signal: str | None = None) -> None:
    """One request a connector sent: its outcome, its time, and how the platform throttled it, if it did."""
    CONNECTOR_REQUESTS.labels(platform, outcome).inc()
    CONNECTOR_REQUEST_SECONDS.labels(platform).observe(seconds)
    if signal is not None:
        CONNECTOR_THROTTLED.labels(platform, signal).inc()


# --- connections by status (read from the database) --------------------------------------------


async def count_connections(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(platform, status) → number of connections, as stored."""
    query = select(Connection.platform, Connection.status, func.count()).group_by(
        Connection.platform, Connection.status
    )
    return {(platform, status): int(count) for platform, status, count in await session.execute(query)}


_published: set[tuple[str, str]] = set()


def publish_connection_counts(counts: dict[tuple[str, str], int]) -> None:
    """Set the gauge to these counts; label sets no longer present drop to 0."""
    for key in _published - set(counts):
        CONNECTIONS.labels(*key).set(0)
    for key, count in counts.items():
        CONNECTIONS.labels(*key).set(count)
    _published.update(counts)


async def refresh_connections(database: Database, *, interval: float = CONNECTIONS_REFRESH_SECONDS) -> None:
    """Count connections by platform and status now and every ``interval`` seconds, until cancelled."""
    while True:
        try:
            # notify=False: a read must not wake the outbox relay.
            async with database.transaction(notify=False) as session:
                counts = await count_connections(session)
        except Exception as exc:
            _log.warning("could not count connections for the metrics (%s); trying again in %.0fs", exc, interval)
        else:
            publish_connection_counts(counts)
        await asyncio.sleep(interval)


def connections_census(database: Database, *, interval: float = CONNECTIONS_REFRESH_SECONDS) -> Callable[[Any], Any]:
    """A lifespan hook running ``refresh_connections`` in the background while the service runs."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        census = asyncio.create_task(refresh_connections(database, interval=interval), name="results-connections")
        try:
            yield
        finally:
            census.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await census

    return lifespan
