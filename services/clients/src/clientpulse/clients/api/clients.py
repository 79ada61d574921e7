"""Client profiles."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from clientpulse.clients.api.schemas import ClientRead
from clientpulse.clients.db.repositories import ClientRepository
from clientpulse.clients.domain import services
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.db import Database
from clientpulse.shared.identity import Identity
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor


class ClientController(Controller):
    """``/api/v1/clients``"""

    path = "/api/v1/clients"
    tags = ["clients"]

    @get("/", summary="List the clients the caller may see")
    async def list_clients(
        self,
        identity: Identity,
        db: Database,
        status: ClientStatus | None = None,
        cursor: str | None = Parameter(default=None, max_length=500),
        limit: int | None = Parameter(default=None),
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
    async def get_client(self, identity: Identity, db: Database, client_id: str) -> ClientRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, company = await services.visible_client(session, identity, client_id)
        return ClientRead.of(client, company)
