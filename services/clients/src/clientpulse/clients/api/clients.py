"""Client profiles."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter

from clientpulse.clients.api.schemas import ClientRead
from clientpulse.clients.db.repositories import ClientRepository
from clientpulse.clients.domain import services
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Caller, Db


class ClientController(Controller):
    """``/api/v1/clients``"""

    path = "/api/v1/clients"
    tags = ["clients"]

    @get("/", summary="List the clients the caller may see")
    async def list_clients(
        self,
        identity: Caller,
        db: Db,
        status: FromQuery[ClientStatus | None] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[ClientRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        async with db.transaction() as session:
            rows = await ClientRepository(session).list_visible(
                identity,
                status=status.value if status else None,
                after_id=position.get("id") if position else None,
                limit=size + 1,
            )
        items = [ClientRead.of(client, company) for client, company in rows[:size]]
        next_cursor = encode_cursor({"id": rows[size - 1][0].id}) if len(rows) > size else None
        return Page[ClientRead](items=items, next_cursor=next_cursor)

    @get("/{client_id:str}", summary="Read a client")
    async def get_client(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ClientRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, company = await services.visible_client(session, identity, client_id)
        return ClientRead.of(client, company)
