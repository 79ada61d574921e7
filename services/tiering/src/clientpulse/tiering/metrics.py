"""Metrics of the monthly recalculation, exported by the tiering service's process.

The CronJob only publishes RecalculationRequested and exits; the run itself happens in this service's
``recalculation`` consumer, so that is where it is counted. A run's outcome is counted once its unit
of work has committed or rolled back (a rolled-back attempt is redelivered and counted again then).
The time of the newest completed run is read from the ``recalculation_runs`` table when the service
starts, so it survives restarts and is the same on every replica; alerts take the ``max`` of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.db import Database, when_unit_ends
from clientpulse.tiering.db.models import RecalculationRun

_log = logging.getLogger("clientpulse.tiering.metrics")

RUN_OUTCOMES = ("completed", "already_run", "failed")
CLIENT_RESULTS = ("recalculated", "tier_changed", "skipped_never_scored", "failed")

RECALCULATION_RUNS = Counter(
    "clientpulse_recalculation_runs_total",
    "Recalculation requests handled, by outcome: completed (the period was recalculated and committed), "
    "already_run (the period had been recalculated before: nothing changed), failed (the attempt raised and "
    "was rolled back; JetStream redelivers it)",
    ["outcome"],
)
RECALCULATION_SECONDS = Histogram(
    "clientpulse_recalculation_duration_seconds",
    "Time a completed recalculation took, from the start of its handler to the commit",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180),
)
RECALCULATION_CLIENTS = Counter(
    "clientpulse_recalculation_clients_total",
    "Clients counted by completed recalculations, by result (not additive: tier_changed is part of "
    "recalculated): recalculated, tier_changed (effective tier moved, TierChanged emitted), "
    "skipped_never_scored, failed (revenue could not be converted to the base currency; left unchanged)",
    ["result"],
)
RECALCULATION_LAST_COMPLETED = Gauge(
    "clientpulse_recalculation_last_completed_timestamp_seconds",
    "Unix time the newest recalculation run was recorded as completed (from the runs table; 0 when none)",
)

for _outcome in RUN_OUTCOMES:
    RECALCULATION_RUNS.labels(_outcome)
for _result in CLIENT_RESULTS:
    RECALCULATION_CLIENTS.labels(_result)


class RunObservation:
    """Counts one recalculation request when its unit of work ends.

    Create it at the start of the handler with the handler's session, and call ``finished`` with
    what ``run_recalculation`` returned. A commit counts the outcome (and a completed run's duration,
    client counts and completion time); a rollback counts a failed attempt.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.started = time.perf_counter()
        self.run: RecalculationRun | None = None
        self.ran = False
        when_unit_ends(session, committed=self._committed, rolled_back=self._rolled_back)

    def finished(self, run: RecalculationRun | None) -> None:
        """The run (``None``: its period had already been recalculated)."""
        self.run, self.ran = run, True

    def _committed(self) -> None:
        if not self.ran:
            return
        if self.run is None:
            RECALCULATION_RUNS.labels("already_run").inc()
            return
        RECALCULATION_RUNS.labels("completed").inc()
        RECALCULATION_SECONDS.observe(time.perf_counter() - self.started)
        for result, count in (
            ("recalculated", self.run.recalculated),
            ("tier_changed", self.run.changed),
            ("skipped_never_scored", self.run.skipped_never_scored),
            ("failed", self.run.failed),
        ):
            RECALCULATION_CLIENTS.labels(result).inc(count)
        # The row this run committed: the newest completion now on record.
        _advance_last_completed(self.run.completed_at.timestamp())

    def _rolled_back(self) -> None:
        RECALCULATION_RUNS.labels("failed").inc()


_last_completed = 0.0


def _advance_last_completed(timestamp: float) -> None:
    """Move the gauge forward only: the start-up read may finish after a run has already set it."""
    global _last_completed
    if timestamp > _last_completed:
        _last_completed = timestamp
        RECALCULATION_LAST_COMPLETED.set(timestamp)


async def last_completed_at(session: AsyncSession) -> float | None:
    """Unix time of the newest completed run in the runs table, if any."""
    newest = await session.scalar(select(func.max(RecalculationRun.completed_at)))
    return newest.timestamp() if newest is not None else None


async def load_last_completed(database: Database, *, retry_every: float = 30.0) -> None:
    """Set the last-completed gauge from the database; retried until the database answers."""
    while True:
        try:
            async with database.transaction(notify=False) as session:
                newest = await last_completed_at(session)
        except Exception as exc:
            _log.warning(
                "could not read the newest recalculation run for the metrics (%s); trying again in %.0fs",
                exc,
                retry_every,
            )
            await asyncio.sleep(retry_every)
            continue
        if newest is not None:
            _advance_last_completed(newest)
        return


def last_completed_on_start(database: Database) -> Callable[[Any], Any]:
    """A lifespan hook that loads the last-completed gauge in the background (start-up never waits for it)."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        loading = asyncio.create_task(load_last_completed(database), name="tiering-recalculation-metrics")
        try:
            yield
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading

    return lifespan
