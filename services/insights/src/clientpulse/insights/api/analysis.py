"""A client's latest weekly analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.params import FromPath
from pydantic import BaseModel

from clientpulse.insights.db.repositories import AnalysisRepository
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.errors import NotFound
from clientpulse.shared.service import Caller, Db


class AnalysisRead(BaseModel):
    """A weekly analysis."""

    id: str
    client_id: str
    week: str
    health_score: int
    status: str
    body: dict[str, Any]
    generated_by: str
    created_at: datetime


class AnalysisController(Controller):
    """``/api/v1/clients/{client_id}/insights``"""

    path = "/api/v1/clients/{client_id:str}/insights"
    tags = ["insights"]

    @get("/analysis", summary="A client's latest weekly analysis")
    async def latest_analysis(self, identity: Caller, db: Db, client_id: FromPath[str]) -> AnalysisRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            analysis = await AnalysisRepository(session).latest(client_id)
        if analysis is None:
            raise NotFound(f"client {client_id} has no analysis yet")
        return AnalysisRead(
            id=analysis.id,
            client_id=analysis.client_id,
            week=analysis.week,
            health_score=analysis.health_score,
            status=analysis.status,
            body=analysis.body,
            generated_by=analysis.generated_by,
            created_at=analysis.created_at,
        )
