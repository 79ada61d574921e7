"""What the results-ingest service does with events: the client replica and the backfill worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.domain.backfills import WorkerDeps, plan_backfill, run_slice
from clientpulse.results_ingest.domain.goals import replicate_and_measure_goal
from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import BackfillRequested, BackfillSliceRequested, GoalChanged
from clientpulse.shared.messaging import EventBus


def register(bus: EventBus, deps: WorkerDeps) -> None:
    """Subscribe the results-ingest service's consumers."""
    register_client_directory(bus)

    @bus.consumer(GoalChanged, name="goals")
    async def on_goal_changed(envelope: Envelope[GoalChanged], session: AsyncSession) -> None:
        """Keep a client's goal and measure it on the stored results."""
        await replicate_and_measure_goal(envelope, session, deps.runtime.settings.rate_table())

    @bus.consumer(BackfillRequested, name="backfill-planner")
    async def on_backfill_requested(envelope: Envelope[Any], session: AsyncSession) -> None:
        """Cut a requested backfill into per-connection, per-window slices."""
        await plan_backfill(session, envelope.data)

    @bus.consumer(BackfillSliceRequested, name="backfill-worker")
    async def on_backfill_slice(envelope: Envelope[Any], session: AsyncSession) -> None:
        """Fetch, store and checkpoint one slice of a backfill."""
        await run_slice(session, envelope.data, deps)
