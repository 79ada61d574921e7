"""A client's monthly check-ins."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.check_ins import CheckInCreate, CheckInRead
from clientpulse.clients.db.repositories.check_ins import CheckInRepository
from clientpulse.clients.domain import check_ins
from clientpulse.clients.domain.clients import visible_client
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


class CheckInController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/check-ins``"""

    path = "/api/v1/clients/{client_id:str}/check-ins"
    tags = ["check-ins"]

    @get("/", summary="A client's check-ins, most recently logged first")
    async def list_check_ins(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[CheckInRead]:
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await CheckInRepository(session).list(
                client_id, before_id=request.after_id, limit=request.fetch_limit
            )
        return request.page(CheckInRead, rows, CheckInRead.of)

    @post(
        "/",
        summary="Log a held check-in",
        description="Date, who held it (default: the caller) and notes. A Platinum client's next monthly "
        "check-in falls due a month after the latest one.",
        status_code=HTTP_201_CREATED,
    )
    async def log_check_in(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[CheckInCreate]
    ) -> Response[CheckInRead]:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            check_in = await check_ins.log_check_in(
                session,
                identity,
                client,
                check_ins.CheckInInput(held_on=data.held_on, held_by=data.held_by or identity.sub, notes=data.notes),
            )
        return Response(
            CheckInRead.of(check_in),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/check-ins"},
        )
