"""A client's platform connections."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get
from litestar.params import FromPath
from pydantic import BaseModel

from clientpulse.results_ingest.db.repositories import ConnectionRepository
from clientpulse.results_ingest.domain.platforms import ConnectionStatus, Platform
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.service import Caller, Db


class ConnectionRead(BaseModel):
    """A connection as shown to users (secrets never leave the service)."""

    id: str
    client_id: str
    platform: Platform
    account_id: str
    account_name: str | None
    status: ConnectionStatus
    status_message: str | None
    created_at: datetime


class ConnectionList(BaseModel):
    """A client's connections."""

    items: list[ConnectionRead]


class ConnectionController(Controller):
    """``/api/v1/clients/{client_id}/connections``"""

    path = "/api/v1/clients/{client_id:str}/connections"
    tags = ["results"]

    @get("/", summary="A client's platform connections")
    async def list_connections(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ConnectionList:
        require_clients_module(identity)
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            rows = await ConnectionRepository(session).for_client(client_id)
        return ConnectionList(
            items=[
                ConnectionRead(
                    id=c.id,
                    client_id=c.client_id,
                    platform=Platform(c.platform),
                    account_id=c.account_id,
                    account_name=c.account_name,
                    status=ConnectionStatus(c.status),
                    status_message=c.status_message,
                    created_at=c.created_at,
                )
                for c in rows
            ]
        )
