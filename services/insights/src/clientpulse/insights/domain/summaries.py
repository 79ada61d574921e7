"""Relationship summaries as work: significant events ask for one, a burst of them makes one, and each summary is
stored with its SummaryGenerated in one unit of work.

Debounce: the first significant event of a client notes a ``summary_requests`` row and publishes one
SummaryRequested; later events of the burst only move the row's ``last_event_at``. The SummaryRequested handler
defers itself until no event came for the quiet period, writes the summary and closes the burst; an event that
arrives while the summary is written keeps the burst open (the handler defers again and writes once more).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.repositories.analyses import AnalysisRepository
from clientpulse.insights.db.repositories.summaries import SummaryRepository, SummaryRequestRepository
from clientpulse.insights.domain.relationship import AnalysisRecord, RelationshipRecords
from clientpulse.insights.domain.summary import RelationshipSummary
from clientpulse.shared.contracts import derived_event_id, new_event_id, wrap
from clientpulse.shared.contracts.events import SummaryGenerated, SummaryRequested
from clientpulse.shared.messaging import Deferred, record_event

SOURCE = "insights"


async def note_significant_event(session: AsyncSession, client_id: str, trigger: str, now: datetime) -> bool:
    """Ask for a summary: True when this event starts a burst (and its SummaryRequested is recorded)."""
    started = await SummaryRequestRepository(session).note(client_id, trigger, now)
    if started:
        event_id = derived_event_id(f"summary-requested:{client_id}:{now.isoformat()}")
        envelope = wrap(
            SummaryRequested(client_id=client_id, trigger=trigger), source=SOURCE, event_id=event_id, time=now
        )
        await record_event(session, envelope)
    return started


async def with_latest_analysis(session: AsyncSession, records: RelationshipRecords) -> RelationshipRecords:
    """The records with this service's latest results analysis of the client."""
    analysis = await AnalysisRepository(session).latest(records.client.id)
    if analysis is None:
        return records
    record = AnalysisRecord(
        id=analysis.id,
        week=analysis.week,
        format=analysis.format,
        health_score=analysis.health_score,
        status=analysis.status,
    )
    return records.model_copy(update={"analysis": record})


async def store_summary(session: AsyncSession, summary: RelationshipSummary, now: datetime) -> str:
    """Store a summary with its SummaryGenerated; its id."""
    summary_id = new_event_id()
    SummaryRepository(session).add(
        {
            "id": summary_id,
            "client_id": summary.client_id,
            "generated_by": summary.generated_by,
            "body": summary.model_dump(mode="json"),
            "created_at": now,
        }
    )
    generated = SummaryGenerated(
        client_id=summary.client_id,
        summary_id=summary_id,
        generated_by=summary.generated_by,
        deterministic=summary.deterministic,
        statements=len(summary.statements),
    )
    await record_event(session, wrap(generated, source=SOURCE, event_id=summary_id, time=now))
    return summary_id


def still_settling(last_event_at: datetime, quiet: timedelta, now: datetime) -> float | None:
    """Seconds until the burst is quiet (None when it is)."""
    remaining = (last_event_at + quiet - now).total_seconds()
    return remaining if remaining > 0 else None


async def due_summary_burst(
    session: AsyncSession, client_id: str, quiet: timedelta, now: datetime
) -> tuple[datetime, list[str]] | None:
    """The burst to write now (its last event time and triggers); None when nothing is due; ``Deferred`` while
    events still come."""
    request = await SummaryRequestRepository(session).of_client(client_id)
    if request is None:
        return None
    wait = still_settling(request.last_event_at, quiet, now)
    if wait is not None:
        raise Deferred(wait, f"client {client_id}'s burst of events is not over")
    return request.last_event_at, [str(t) for t in request.triggers]


async def close_burst(session: AsyncSession, client_id: str, last_event_at: datetime, quiet: timedelta) -> None:
    """Close the written burst; ``Deferred`` (all rolled back) when an event came while it was written."""
    if not await SummaryRequestRepository(session).settle(client_id, last_event_at):
        raise Deferred(quiet.total_seconds(), f"client {client_id} had another event while its summary was written")
