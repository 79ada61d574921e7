"""A client's weekly analysis: the latest, or the one of a given ISO week."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import get
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel, ValidationError

from clientpulse.insights.db.models import Analysis
from clientpulse.insights.db.repositories.analyses import AnalysisRepository
from clientpulse.insights.domain.analysis import WeeklyAnalysis
from clientpulse.insights.domain.older_analyses import analysis_text
from clientpulse.insights.domain.weeks import IsoWeek
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class AnalysisRead(BaseModel):
    """A weekly analysis: ``structured`` (its headline, and the structured analysis in ``body``) or ``text`` (an
    older or imported analysis kept as free text in ``text``; no body, and a health score only if it had one)."""

    id: str
    client_id: str
    week: str
    format: Literal["structured", "text"]
    health_score: int | None
    status: str | None
    generated_by: str
    created_at: datetime
    body: WeeklyAnalysis | None
    text: str | None = None

    @classmethod
    def of(cls, row: Analysis) -> AnalysisRead:
        """A stored analysis as served: a body this version cannot read is served as text."""
        head = {
            "id": row.id,
            "client_id": row.client_id,
            "week": row.week,
            "health_score": row.health_score,
            "status": row.status,
            "generated_by": row.generated_by,
            "created_at": row.created_at,
        }
        if row.format == "structured":
            try:
                return cls(**head, format="structured", body=WeeklyAnalysis.model_validate(row.body))
            except ValidationError:
                pass
        return cls(**head, format="text", body=None, text=row.text or analysis_text(row.body))


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
        return AnalysisRead.of(analysis)
