"""What the clients service does with other contexts' events: won deals raise conversion prompts, tier
facts are replicated, synced metrics move linked goals, and the rest joins the client's history feed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.goals import apply_synced_metrics
from clientpulse.clients.domain.history import add_entry
from clientpulse.clients.domain.prompts import record_deal_won
from clientpulse.clients.domain.tiers import apply_score, apply_tier
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
    await record_deal_won(session, envelope.data)


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


async def on_score_recorded(envelope: Envelope[ScoreRecorded], session: AsyncSession) -> None:
    """Replicate the client's score, tier and ratings age; note the score in its history."""
    data = envelope.data
    client = await ClientRepository(session).get_for_update(data.client_id)
    if client is None:  # tiering only scores clients it heard of from us; a stray id has nothing to update
        return
    apply_score(client, data.score, data.ratings_recorded_at, envelope.time)
    apply_tier(client, data.effective_tier, envelope.time)
    line = f"Scored {data.score} ({data.computed_tier.value}); effective tier {data.effective_tier.value}"
    _history(envelope, session, line, data.recorded_by)


async def on_tier_changed(envelope: Envelope[TierChanged], session: AsyncSession) -> None:
    """Replicate the client's new tier (and score); note the change in its history."""
    data = envelope.data
    client = await ClientRepository(session).get_for_update(data.client_id)
    if client is None:
        return
    apply_tier(client, data.new_tier, envelope.time)
    if data.new_score is not None:
        apply_score(client, data.new_score, None, envelope.time)
    old = data.old_tier.value if data.old_tier else "unscored"
    _history(
        envelope, session, f"Tier changed from {old} to {data.new_tier.value} ({data.cause.value})", data.changed_by
    )


async def on_sync_completed(envelope: Envelope[SyncCompleted], session: AsyncSession) -> None:
    """A sync moves the goals linked to its metrics."""
    values = {metric.metric: metric.value for metric in envelope.data.metrics}
    if values:
        await apply_synced_metrics(session, envelope.data.client_id, values, envelope.time)


async def on_backfill_completed(envelope: Envelope[BackfillCompleted], session: AsyncSession) -> None:
    """A finished backfill joins the history feed."""
    data = envelope.data
    line = f"{data.days}-day results backfill completed ({data.rows_written} rows)"
    if data.failed_parts:
        line += f"; failed: {'; '.join(data.failed_parts)}"
    _history(envelope, session, line, data.requested_by)


async def on_backfill_failed(envelope: Envelope[BackfillFailed], session: AsyncSession) -> None:
    """A failed backfill joins the history feed with its reason."""
    data = envelope.data
    _history(envelope, session, f"{data.days}-day results backfill failed: {data.reason}", data.requested_by)


async def on_analysis_generated(envelope: Envelope[AnalysisGenerated], session: AsyncSession) -> None:
    """A written weekly analysis joins the history feed."""
    data = envelope.data
    line = f"Weekly analysis {data.week} written: health {data.health_score} ({data.status})"
    _history(envelope, session, line, data.generated_by)


async def on_summary_generated(envelope: Envelope[SummaryGenerated], session: AsyncSession) -> None:
    """A written relationship summary joins the history feed."""
    _history(envelope, session, "Relationship summary written", envelope.data.generated_by)


def register(bus: EventBus) -> None:
    """Subscribe the clients service's consumers (one per producing stream, so each sees stream order)."""
    bus.consumer(DealWon, name="deal-won")(on_deal_won)
    bus.typed_consumer({ScoreRecorded: on_score_recorded, TierChanged: on_tier_changed}, name="tiering", batched=True)
    bus.typed_consumer(
        {
            SyncCompleted: on_sync_completed,
            BackfillCompleted: on_backfill_completed,
            BackfillFailed: on_backfill_failed,
        },
        name="results",
        batched=True,
    )
    bus.typed_consumer(
        {AnalysisGenerated: on_analysis_generated, SummaryGenerated: on_summary_generated}, name="insights"
    )
