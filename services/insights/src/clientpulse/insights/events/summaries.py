"""The relationship summary's consumers: significant events ask for a summary, SummaryRequested writes it once
the burst is over (docs/domain-rules.md, "AI analysis")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights import metrics
from clientpulse.insights.domain.summaries import (
    close_burst,
    due_summary_burst,
    note_significant_event,
    store_summary,
    with_latest_analysis,
)
from clientpulse.insights.domain.summary import origin_label
from clientpulse.insights.llm import SummaryWriter
from clientpulse.insights.relationship_api import RelationshipApi
from clientpulse.insights.results_api import SERVICE_IDENTITY
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import (
    ClientStatusChanged,
    GoalChanged,
    HealthBand,
    HealthScoreRecorded,
    QbrLogged,
    SummaryRequested,
    TierChanged,
)
from clientpulse.shared.db import utcnow, when_unit_ends
from clientpulse.shared.errors import NotFound
from clientpulse.shared.messaging import EventBus

_log = logging.getLogger("clientpulse.insights.summaries")


@dataclass(frozen=True, slots=True)
class SummaryDeps:
    """Where a summary's records come from, who writes it, and how long a burst must be quiet."""

    relationship: RelationshipApi
    writer: SummaryWriter
    quiet: timedelta


async def _ask(envelope: Envelope[Any], session: AsyncSession) -> None:
    await note_significant_event(session, envelope.data.client_id, envelope.data.event_type, utcnow())


async def _on_health(envelope: Envelope[HealthScoreRecorded], session: AsyncSession) -> None:
    """Only health entering Red is significant."""
    data = envelope.data
    if data.band is HealthBand.RED and data.previous_band is not HealthBand.RED:
        await _ask(envelope, session)


def register_summaries(bus: EventBus, deps: SummaryDeps) -> None:
    """Subscribe the summary's consumers: one per producing stream, and the writer."""
    bus.typed_consumer(
        {ClientStatusChanged: _ask, HealthScoreRecorded: _on_health, QbrLogged: _ask, GoalChanged: _ask},
        name="summary-client-events",
        batched=True,
    )
    bus.consumer(TierChanged, name="summary-tier-changes", batched=True)(_ask)

    async def on_summary_requested(envelope: Envelope[SummaryRequested], session: AsyncSession) -> None:
        """Write the client's summary once its burst is quiet (``Deferred`` until then)."""
        client_id = envelope.data.client_id
        now = utcnow()
        burst = await due_summary_burst(session, client_id, deps.quiet, now)
        if burst is None:
            return
        last_event_at, triggers = burst
        try:
            records = await deps.relationship.records(client_id, SERVICE_IDENTITY)
        except NotFound:
            _log.info("client %s is not known to the clients service; no summary", client_id)
            await close_burst(session, client_id, last_event_at, deps.quiet)
            return
        records = await with_latest_analysis(session, records)
        summary = await deps.writer.write(records, as_of=now, today=now.date(), triggers=triggers)
        summary_id = await store_summary(session, summary, now)
        await close_burst(session, client_id, last_event_at, deps.quiet)
        label = origin_label(summary)
        when_unit_ends(session, committed=lambda: metrics.SUMMARIES.labels(label).inc())
        _log.info("summary %s of client %s written (%s)", summary_id, client_id, label, extra={"event_id": envelope.id})

    bus.consumer(SummaryRequested, name="summary")(on_summary_requested)
