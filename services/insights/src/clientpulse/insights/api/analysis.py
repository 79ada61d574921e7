"""A client's weekly analysis: the latest, or the one of a given ISO week."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import get
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel

from clientpulse.insights.db.repositories.analyses import AnalysisRepository
from clientpulse.insights.domain.analysis import WeeklyAnalysis
from clientpulse.insights.domain.weeks import IsoWeek
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class AnalysisRead(BaseModel):
    """A weekly analysis: its headline, and the structured analysis in ``body``."""

    id: str
    client_id: str
    week: str
    health_score: int
    status: str
    generated_by: str
    created_at: datetime
    body: WeeklyAnalysis


class AnalysisController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/insights``"""

    path = "/api/v1/clients/{client_id:str}/insights"
    tags = ["insights"]

    @get("/analysis", summary="A client's weekly analysis: the latest, or the one of a given ISO week")
    async def weekly_analysis(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        week: Annotated[
            str | None, QueryParameter(description="ISO week, e.g. 2026-W48 (default: the latest analysed week)")
        ] = None,
    ) -> AnalysisRead:
        wanted: str | None = None
        if week is not None:
            try:
                wanted = str(IsoWeek.parse(week))
            except ValueError as exc:
                raise Unprocessable(str(exc)) from exc
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            analyses = AnalysisRepository(session)
            analysis = await (analyses.of_week(client_id, wanted) if wanted else analyses.latest(client_id))
        if analysis is None:
            raise NotFound(f"client {client_id} has no analysis {'of ' + wanted if wanted else 'yet'}")
        return AnalysisRead(
            id=analysis.id,
            client_id=analysis.client_id,
            week=analysis.week,
            health_score=analysis.health_score,
            status=analysis.status,
            generated_by=analysis.generated_by,
            created_at=analysis.created_at,
            body=WeeklyAnalysis.model_validate(analysis.body),
        )
