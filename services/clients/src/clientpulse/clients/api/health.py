"""A client's health scores."""

from __future__ import annotations

from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.health import HealthCreate, HealthRead
from clientpulse.clients.db.repositories.health import HealthRepository
from clientpulse.clients.domain.clients import visible_client
from clientpulse.clients.domain.health import record_health
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


class HealthController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/health``"""

    path = "/api/v1/clients/{client_id:str}/health"
    tags = ["health"]

    @get("/", summary="A client's health scores, newest first")
    async def list_health(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[HealthRead]:
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await HealthRepository(session).list(
                client_id, before_id=request.after_id, limit=request.fetch_limit
            )
        return request.page(HealthRead, rows, HealthRead.of)

    @post(
        "/",
        summary="Record a health score",
        description="An integer 0–100; Green 70–100, Amber 40–69, Red 0–39.",
        status_code=HTTP_201_CREATED,
    )
    async def record_health(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[HealthCreate]
    ) -> HealthRead:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            entry = await record_health(session, identity, client, data.score, data.note)
        return HealthRead.of(entry)
