"""What the clients service does with other contexts' events: won deals raise conversion prompts, tier
facts are replicated, the results service's goal measurements move linked goals, and the rest joins the
client's history feed.
"""

from __future__ import annotations

from functools import partial, update_wrapper
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.goals import apply_goal_measurements
from clientpulse.clients.domain.history import add_entry
from clientpulse.clients.domain.prompts import record_deal_won
from clientpulse.clients.domain.senior_dms import SeniorDms, tell_if_senior_dm_missing
from clientpulse.clients.domain.tiers import apply_score, apply_tier
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import (
    AnalysisGenerated,
    BackfillCompleted,
    BackfillFailed,
    ConnectionAdded,
    ConnectionRemoved,
    DealWon,
    GoalsMeasured,
    PortfolioTierChanged,
    ScoreRecorded,
    ScoresRecalculated,
    SummaryGenerated,
    TierChanged,
    TierOverrideCleared,
    TierOverrideSet,
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


async def on_score_recorded(
    envelope: Envelope[ScoreRecorded], session: AsyncSession, senior_dms: SeniorDms | None = None
) -> None:
    """Replicate the client's score, tier and ratings age; note the score in its history."""
    data = envelope.data
    client = await ClientRepository(session).get_for_update(data.client_id)
    if client is None:  # tiering only scores clients it heard of from us; a stray id has nothing to update
        return
    apply_score(client, data.score, data.ratings_recorded_at, envelope.time)
    was_missing = (senior_dms or SeniorDms()).client_missing(client)
    if apply_tier(client, data.effective_tier, envelope.time):
        await tell_if_senior_dm_missing(session, senior_dms or SeniorDms(), client, was_missing=was_missing)
    line = f"Scored {data.score} ({data.computed_tier.value}); effective tier {data.effective_tier.value}"
    _history(envelope, session, line, data.recorded_by)


async def on_tier_changed(
    envelope: Envelope[TierChanged], session: AsyncSession, senior_dms: SeniorDms | None = None
) -> None:
    """Replicate the client's new tier (and score); note the change in its history."""
    data = envelope.data
    client = await ClientRepository(session).get_for_update(data.client_id)
    if client is None:
        return
    was_missing = (senior_dms or SeniorDms()).client_missing(client)
    if apply_tier(client, data.new_tier, envelope.time):
        await tell_if_senior_dm_missing(session, senior_dms or SeniorDms(), client, was_missing=was_missing)
    if data.new_score is not None:
        apply_score(client, data.new_score, None, envelope.time)
    old = data.old_tier.value if data.old_tier else "unscored"
    _history(
        envelope, session, f"Tier changed from {old} to {data.new_tier.value} ({data.cause.value})", data.changed_by
    )


async def on_tier_override_set(envelope: Envelope[TierOverrideSet], session: AsyncSession) -> None:
    """A tier override set joins the history feed, even when the effective tier stays the same."""
    data = envelope.data
    until = f" until {data.expires_at.date().isoformat()}" if data.expires_at else ""
    line = f"Tier override set to {data.tier.value}{until}: {data.reason}"
    _history(envelope, session, line, data.set_by)


async def on_tier_override_cleared(envelope: Envelope[TierOverrideCleared], session: AsyncSession) -> None:
    """A tier override cleared (or expired) joins the history feed."""
    data = envelope.data
    how = "expired" if data.expired else "cleared"
    line = f"Tier override to {data.tier.value} {how}; effective tier {data.effective_tier.value}"
    _history(envelope, session, line, data.cleared_by)


async def on_goals_measured(envelope: Envelope[GoalsMeasured], session: AsyncSession) -> None:
    """The results service measured linked goals over their own periods: their current values follow."""
    if envelope.data.goals:
        await apply_goal_measurements(session, envelope.data.client_id, envelope.data.goals, envelope.time)


async def on_connection_added(envelope: Envelope[ConnectionAdded], session: AsyncSession) -> None:
    """A platform connection added joins the history feed."""
    data = envelope.data
    account = f"{data.account_name} ({data.account_id})" if data.account_name else data.account_id
    _history(envelope, session, f"{data.platform_name} account {account} connected", data.added_by)


async def on_connection_removed(envelope: Envelope[ConnectionRemoved], session: AsyncSession) -> None:
    """A platform connection removed joins the history feed."""
    data = envelope.data
    account = f"{data.account_name} ({data.account_id})" if data.account_name else data.account_id
    _history(envelope, session, f"{data.platform_name} account {account} disconnected", data.removed_by)


async def on_scores_recalculated(envelope: Envelope[ScoresRecalculated], session: AsyncSession) -> None:
    """A recalculation's moved scores reach the list and detail, one batched update per part; a client
    whose score came from a newer event keeps it (the history keeps receipts in tiering, not a line per score)."""
    scores = [(entry.client_id, entry.score) for entry in envelope.data.scores]
    await ClientRepository(session).apply_scores(scores, envelope.time)


async def on_portfolio_tier_changed(envelope: Envelope[PortfolioTierChanged], session: AsyncSession) -> None:
    """A group's portfolio tier change joins the history of its parent."""
    data = envelope.data
    old = data.old_tier.value if data.old_tier else "none"
    new = data.new_tier.value if data.new_tier else "none"
    line = f"Portfolio tier of the group changed from {old} to {new} ({data.members} members)"
    _history(envelope, session, line, data.changed_by)


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


def _with_senior_dms(handler: Any, senior_dms: SeniorDms | None) -> Any:
    """A tier handler bound to the configured senior DMs, keeping its name and documentation."""
    return update_wrapper(partial(handler, senior_dms=senior_dms), handler)


def register(bus: EventBus, senior_dms: SeniorDms | None = None) -> None:
    """Subscribe the clients service's consumers (one per producing stream, so each sees stream order)."""
    bus.consumer(DealWon, name="deal-won")(on_deal_won)
    bus.typed_consumer(
        {
            ScoreRecorded: _with_senior_dms(on_score_recorded, senior_dms),
            TierChanged: _with_senior_dms(on_tier_changed, senior_dms),
            TierOverrideSet: on_tier_override_set,
            TierOverrideCleared: on_tier_override_cleared,
            ScoresRecalculated: on_scores_recalculated,
            PortfolioTierChanged: on_portfolio_tier_changed,
        },
        name="tiering",
        batched=True,
    )
    bus.typed_consumer(
        {
            GoalsMeasured: on_goals_measured,
            ConnectionAdded: on_connection_added,
            ConnectionRemoved: on_connection_removed,
            BackfillCompleted: on_backfill_completed,
            BackfillFailed: on_backfill_failed,
        },
        name="results",
        batched=True,
    )
    bus.typed_consumer(
        {AnalysisGenerated: on_analysis_generated, SummaryGenerated: on_summary_generated}, name="insights"
    )
