"""What the insights service does with events: the client replica, which clients have results, and the
weekly analysis (a week's request split into per-client messages, each analysed by whichever replica
takes it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights import metrics
from clientpulse.insights.db.models import BACKFILL_SOURCE
from clientpulse.insights.db.repositories.result_sources import ResultSourceRepository
from clientpulse.insights.domain.thresholds import AnalysisThresholds
from clientpulse.insights.domain.weekly import (
    CampaignSource,
    ClientOutcome,
    ProseSource,
    analyse_client,
    generated_by_label,
    split_week,
)
from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import (
    BackfillCompleted,
    ClientAnalysisRequested,
    SyncCompleted,
    WeeklyAnalysisRequested,
)
from clientpulse.shared.db import utcnow, when_unit_ends
from clientpulse.shared.messaging import EventBus

_log = logging.getLogger("clientpulse.insights.analysis")


@dataclass(frozen=True, slots=True)
class AnalysisDeps:
    """What the per-client analysis reads from and writes with."""

    results: CampaignSource
    prose: ProseSource
    thresholds: AnalysisThresholds


async def on_sync_completed(envelope: Envelope[SyncCompleted], session: AsyncSession) -> None:
    """A synced connection makes the client one with results."""
    data = envelope.data
    await ResultSourceRepository(session).record(data.client_id, data.connection_id, data.platform, envelope.time)


async def on_backfill_completed(envelope: Envelope[BackfillCompleted], session: AsyncSession) -> None:
    """A backfill that wrote rows makes the client one with results."""
    if envelope.data.rows_written > 0:
        await ResultSourceRepository(session).record(envelope.data.client_id, BACKFILL_SOURCE, None, envelope.time)


async def on_weekly_analysis_requested(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Hand out the week: one ClientAnalysisRequested per Active client with results not yet analysed."""
    request: WeeklyAnalysisRequested = envelope.data
    split = await split_week(
        session, week=request.week, requested_by=request.requested_by, request_event_id=envelope.id, now=utcnow()
    )
    when_unit_ends(session, committed=lambda: metrics.CLIENTS_REQUESTED.inc(split.requested))
    _log.info(
        "weekly analysis of %s: %d Active client(s) with results, %d handed out, %d analysed before",
        split.week,
        split.active_with_results,
        split.requested,
        split.already_analysed,
        extra={"event_id": envelope.id},
    )


def register(bus: EventBus, deps: AnalysisDeps) -> None:
    """Subscribe the insights service's consumers."""
    register_client_directory(bus)
    bus.typed_consumer(
        {SyncCompleted: on_sync_completed, BackfillCompleted: on_backfill_completed},
        name="result-sources",
        batched=True,
    )
    bus.consumer(WeeklyAnalysisRequested, name="weekly-analysis")(on_weekly_analysis_requested)

    async def on_client_analysis_requested(envelope: Envelope[Any], session: AsyncSession) -> None:
        """Analyse one client's week; a failure rolls back and comes back with the consumer's backoff."""
        request: ClientAnalysisRequested = envelope.data
        observation = metrics.ClientAnalysisObservation(session)
        log_extra = {"event_id": envelope.id, "client_id": request.client_id, "week": request.week}
        try:
            result = await analyse_client(
                session,
                client_id=request.client_id,
                week=request.week,
                results=deps.results,
                prose=deps.prose,
                thresholds=deps.thresholds,
                now=utcnow(),
            )
        except Exception as exc:
            _log.warning(
                "analysis of client %s for %s failed: %s", request.client_id, request.week, exc, extra=log_extra
            )
            raise
        label = generated_by_label(result.analysis) if result.analysis is not None else None
        observation.finished(result.outcome.value, label)
        if result.outcome is ClientOutcome.WRITTEN and result.analysis is not None:
            _log.info(
                "analysed client %s for %s: health %d (%s), prose by %s",
                request.client_id,
                request.week,
                result.analysis.health.score,
                result.analysis.health.status,
                result.analysis.prose.generated_by,
                extra=log_extra,
            )
        else:
            _log.info("client %s for %s: %s", request.client_id, request.week, result.outcome.value, extra=log_extra)

    bus.consumer(ClientAnalysisRequested, name="client-analysis")(on_client_analysis_requested)
