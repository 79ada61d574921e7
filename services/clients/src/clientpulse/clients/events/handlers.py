"""What the clients service does with other contexts' events: won deals raise conversion prompts, tier
facts are replicated, synced metrics move linked goals, and the rest joins the client's history feed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.repositories import ClientRepository
from clientpulse.clients.domain import profiles, services
from clientpulse.clients.domain.history import add_entry
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import (
    AnalysisGenerated,
    BackfillCompleted,
    BackfillFailed,
    DealWon,
    ScoreRecorded,
    SummaryGenerated,
    SyncCompleted,
    TierChanged,
)
from clientpulse.shared.messaging import EventBus


async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
    """A won deal raises a conversion prompt for its company."""
    await services.record_deal_won(session, envelope.data)


def _history(envelope: Envelope[Any], session: AsyncSession, line: str, actor: str | None) -> None:
    add_entry(
        session,
        client_id=envelope.data.client_id,
        kind=envelope.data.event_type,
        line=line,
        actor=actor,
        source=envelope.source.removeprefix("/clientpulse/"),
        occurred_at=envelope.time,
        entry_id=envelope.id,
        details=envelope.data.model_dump(mode="json"),
    )


async def on_tiering_event(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Replicate the client's tier, score and ratings age; note the event in its history."""
    data = envelope.data
    client = await ClientRepository(session).get(data.client_id)
    if client is None:  # tiering only scores clients it heard of from us; a stray id has nothing to update
        return
    if isinstance(data, ScoreRecorded):
        profiles.apply_score(client, data.score, data.ratings_recorded_at, envelope.time)
        profiles.apply_tier(client, data.effective_tier, envelope.time)
        line = f"Scored {data.score} ({data.computed_tier.value}); effective tier {data.effective_tier.value}"
        _history(envelope, session, line, data.recorded_by)
    elif isinstance(data, TierChanged):
        profiles.apply_tier(client, data.new_tier, envelope.time)
        if data.new_score is not None:
            profiles.apply_score(client, data.new_score, None, envelope.time)
        old = data.old_tier.value if data.old_tier else "unscored"
        _history(
            envelope, session, f"Tier changed from {old} to {data.new_tier.value} ({data.cause.value})", data.changed_by
        )


async def on_results_event(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Backfills join the history feed; a sync moves goals linked to its metrics."""
    data = envelope.data
    if isinstance(data, SyncCompleted):
        values = {metric.metric: metric.value for metric in data.metrics}
        if values:
            await profiles.apply_synced_metrics(session, data.client_id, values, envelope.time)
    elif isinstance(data, BackfillCompleted):
        line = f"{data.days}-day results backfill completed ({data.rows_written} rows)"
        _history(envelope, session, line, data.requested_by)
    elif isinstance(data, BackfillFailed):
        _history(envelope, session, f"{data.days}-day results backfill failed: {data.reason}", data.requested_by)


async def on_insights_event(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Written analyses and summaries join the history feed."""
    data = envelope.data
    if isinstance(data, AnalysisGenerated):
        line = f"Weekly analysis {data.week} written: health {data.health_score} ({data.status})"
        _history(envelope, session, line, data.generated_by)
    elif isinstance(data, SummaryGenerated):
        _history(envelope, session, "Relationship summary written", data.generated_by)


def register(bus: EventBus) -> None:
    """Subscribe the clients service's consumers (one per producing stream, so each sees stream order)."""
    bus.consumer(DealWon, name="deal-won")(on_deal_won)
    bus.consumer(ScoreRecorded, TierChanged, name="tiering")(on_tiering_event)
    bus.consumer(SyncCompleted, BackfillCompleted, BackfillFailed, name="results")(on_results_event)
    bus.consumer(AnalysisGenerated, SummaryGenerated, name="insights")(on_insights_event)
