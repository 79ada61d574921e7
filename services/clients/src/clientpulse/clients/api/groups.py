"""Group accounts: the members of a parent client."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath

from clientpulse.clients.api.deps import SeniorDmsDep
from clientpulse.clients.api.schemas.clients import ClientRead
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.clients import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class GroupController(ClientsModuleController):
    """``/api/v1/groups``"""

    path = "/api/v1/groups"
    tags = ["clients"]

    @get("/{client_id:str}/members", summary="The members of a group account")
    async def members(
        self, identity: Caller, db: Db, senior_dms: SeniorDmsDep, client_id: FromPath[str]
    ) -> list[ClientRead]:
        now = utcnow()
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await ClientRepository(session).members(identity, client_id)
        return [ClientRead.of(client, company, now=now, senior_dms=senior_dms) for client, company in rows]
