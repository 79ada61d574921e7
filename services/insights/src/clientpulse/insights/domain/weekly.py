"""The weekly analysis as work: a request for a week is split into one message per client, and each
client's message reads two weeks of campaign results, analyses them and stores the analysis once.

Idempotent at every step: the week's request has an id derived from the week (a re-fired CronJob is
one event); the split hands out only Active clients with results whose week is not analysed yet; a
client's message writes nothing when the week already has its analysis (the unique (client, week)
row decides, across replicas too). Each analysis and its AnalysisGenerated commit together.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.repositories.analyses import AnalysisRepository
from clientpulse.insights.db.repositories.result_sources import ResultSourceRepository
from clientpulse.insights.domain.analysis import DETERMINISTIC, CampaignResult, WeeklyAnalysis
from clientpulse.insights.domain.analyzer import analyse_week
from clientpulse.insights.domain.thresholds import AnalysisThresholds
from clientpulse.insights.domain.weeks import IsoWeek
from clientpulse.shared.client_directory import find_client
from clientpulse.shared.contracts import derived_event_id, new_event_id, wrap
from clientpulse.shared.contracts.events import (
    AnalysisGenerated,
    ClientAnalysisRequested,
    ClientStatus,
)
from clientpulse.shared.messaging import record_event

SOURCE = "insights"


class CampaignSource(Protocol):
    """Where a client's campaign table of a date range comes from (the results API)."""

    async def campaigns(self, client_id: str, start: date, end: date) -> list[CampaignResult]:
        """Each campaign's sums over the range."""
        ...


class ProseSource(Protocol):
    """Who writes the prose of an analysis."""

    async def write(self, analysis: WeeklyAnalysis) -> WeeklyAnalysis:
        """The analysis with its final prose."""
        ...


def weekly_request_event_id(week: IsoWeek | str) -> str:
    """The WeeklyAnalysisRequested id of a week: the same every time, so a re-fired CronJob is one event."""
    return derived_event_id(f"weekly-analysis:{week}")


def client_request_event_id(request_event_id: str, client_id: str) -> str:
    """One client's share of one weekly request (a retry of the split publishes the same ids)."""
    return derived_event_id(f"client-analysis:{request_event_id}:{client_id}")


def analysis_event_id(client_id: str, week: str) -> str:
    """The AnalysisGenerated id of a client's week."""
    return derived_event_id(f"analysis-generated:{client_id}:{week}")


@dataclass(frozen=True, slots=True)
class WeekSplit:
    """What a weekly request handed out."""

    week: str
    active_with_results: int
    requested: int

    @property
    def already_analysed(self) -> int:
        """Active clients with results whose week was analysed before."""
        return self.active_with_results - self.requested


async def split_week(
    session: AsyncSession, *, week: str, requested_by: str, request_event_id: str, now: datetime
) -> WeekSplit:
    """Write one ClientAnalysisRequested per Active client with results whose week is not analysed yet."""
    IsoWeek.parse(week)
    sources = ResultSourceRepository(session)
    clients = await sources.clients_to_analyse(week)
    for client_id in clients:
        await record_event(
            session,
            wrap(
                ClientAnalysisRequested(client_id=client_id, week=week, requested_by=requested_by),
                source=SOURCE,
                event_id=client_request_event_id(request_event_id, client_id),
                time=now,
            ),
        )
    return WeekSplit(week=week, active_with_results=await sources.count_active_with_results(), requested=len(clients))


class ClientOutcome(enum.StrEnum):
    """What one client's analysis request came to."""

    WRITTEN = "written"
    ALREADY_WRITTEN = "already_written"
    NOT_ELIGIBLE = "not_eligible"
    NO_ACTIVITY = "no_activity"


@dataclass(frozen=True, slots=True)
class ClientAnalysisResult:
    """The outcome, and the analysis when one was written."""

    outcome: ClientOutcome
    analysis: WeeklyAnalysis | None = None
    analysis_id: str | None = None


async def analyse_client(
    session: AsyncSession,
    *,
    client_id: str,
    week: str,
    results: CampaignSource,
    prose: ProseSource,
    thresholds: AnalysisThresholds,
    now: datetime,
) -> ClientAnalysisResult:
    """Analyse one client's week (and the week before, for trends) once; store it with its AnalysisGenerated."""
    analysed = IsoWeek.parse(week)
    analyses = AnalysisRepository(session)
    if await analyses.exists(client_id, str(analysed)):
        return ClientAnalysisResult(ClientOutcome.ALREADY_WRITTEN)
    client = await find_client(session, client_id)
    if client is None or client.status != ClientStatus.ACTIVE.value:
        return ClientAnalysisResult(ClientOutcome.NOT_ELIGIBLE)
    previous = analysed.previous()
    current_rows = await results.campaigns(client_id, analysed.start, analysed.end)
    previous_rows = await results.campaigns(client_id, previous.start, previous.end)
    deterministic = analyse_week(client_id, analysed, current_rows, previous_rows, thresholds)
    if deterministic is None:
        return ClientAnalysisResult(ClientOutcome.NO_ACTIVITY)
    analysis = await prose.write(deterministic)
    analysis_id = new_event_id()
    written = await analyses.add_once(
        {
            "id": analysis_id,
            "client_id": client_id,
            "week": analysis.week,
            "health_score": analysis.health.score,
            "status": analysis.health.status,
            "body": analysis.model_dump(mode="json"),
            "generated_by": analysis.prose.generated_by,
            "created_at": now,
        }
    )
    if not written:  # another worker wrote the week meanwhile
        return ClientAnalysisResult(ClientOutcome.ALREADY_WRITTEN)
    await record_event(
        session,
        wrap(
            AnalysisGenerated(
                client_id=client_id,
                analysis_id=analysis_id,
                week=analysis.week,
                health_score=analysis.health.score,
                status=analysis.health.status,
                generated_by=analysis.prose.generated_by,
            ),
            source=SOURCE,
            event_id=analysis_event_id(client_id, analysis.week),
            time=now,
        ),
    )
    return ClientAnalysisResult(ClientOutcome.WRITTEN, analysis, analysis_id)


def generated_by_label(analysis: WeeklyAnalysis) -> str:
    """``deterministic`` or ``model`` (the model's name stays out of metric labels)."""
    return DETERMINISTIC if analysis.prose.generated_by == DETERMINISTIC else "model"
