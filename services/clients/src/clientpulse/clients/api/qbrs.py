"""A client's QBRs."""

from __future__ import annotations

from litestar import Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.qbrs import QbrCreate, QbrRead, QbrUpdate
from clientpulse.clients.db.repositories.qbrs import QbrRepository
from clientpulse.clients.domain import qbrs
from clientpulse.clients.domain.clients import visible_client
from clientpulse.shared.errors import NotFound
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


class QbrController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/qbrs``"""

    path = "/api/v1/clients/{client_id:str}/qbrs"
    tags = ["QBRs"]

    @get("/", summary="A client's QBRs, most recently logged first")
    async def list_qbrs(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[QbrRead]:
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await QbrRepository(session).list(client_id, before_id=request.after_id, limit=request.fetch_limit)
        return request.page(QbrRead, rows, QbrRead.of)

    @post("/", summary="Log a held QBR", status_code=HTTP_201_CREATED)
    async def log_qbr(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[QbrCreate]
    ) -> Response[QbrRead]:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            qbr = await qbrs.log_qbr(
                session,
                identity,
                client,
                qbrs.QbrInput(
                    held_on=data.held_on,
                    internal_attendees=data.internal_attendees,
                    client_attendees=data.client_attendees,
                    summary=data.summary,
                    outcomes=data.outcomes,
                ),
            )
        return Response(
            QbrRead.of(qbr),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/qbrs/{qbr.id}"},
        )

    @get("/{qbr_id:str}", summary="Read a QBR")
    async def get_qbr(self, identity: Caller, db: Db, client_id: FromPath[str], qbr_id: FromPath[str]) -> QbrRead:
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            qbr = await QbrRepository(session).get(client_id, qbr_id)
        if qbr is None:
            raise NotFound(f"QBR {qbr_id} was not found")
        return QbrRead.of(qbr)

    @patch("/{qbr_id:str}", summary="Correct a logged QBR")
    async def update_qbr(
        self, identity: Caller, db: Db, client_id: FromPath[str], qbr_id: FromPath[str], data: JSONBody[QbrUpdate]
    ) -> QbrRead:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            qbr = await qbrs.update_qbr(session, identity, client, qbr_id, data.model_dump(exclude_unset=True))
        return QbrRead.of(qbr)
