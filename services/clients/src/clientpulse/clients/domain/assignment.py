"""Who looks after a client: its delivery manager (DM) and squad. Only Executives and Heads assign
others (docs/access.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client
from clientpulse.clients.domain.history import emit
from clientpulse.clients.domain.senior_dms import SeniorDms, tell_if_senior_dm_missing
from clientpulse.shared.contracts.events import ClientAssigned
from clientpulse.shared.errors import Forbidden
from clientpulse.shared.identity import Identity


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who looks after a client: its delivery manager and squad."""

    dm_id: str | None
    squad_id: str | None


def initial_assignment(identity: Identity, *, dm_id: str | None, squad_id: str | None) -> Assignment:
    """The DM and squad of a new client.

    Executives and Heads assign whoever they name. A Manager may not assign others (assignment is
    reserved for Executive and Head, docs/access.md): their conversions are assigned to themselves and
    their squad, so the client stays visible to the person who made it.
    """
    if identity.sees_all_clients:
        return Assignment(dm_id=dm_id, squad_id=squad_id)
    if (dm_id not in (None, identity.sub)) or (squad_id not in (None, identity.squad)):
        raise Forbidden("only an Executive or a Head may assign a client to another DM or squad")
    return Assignment(dm_id=identity.sub, squad_id=identity.squad)


async def assign(
    session: AsyncSession,
    identity: Identity,
    client: Client,
    *,
    dm_id: str | None,
    squad_id: str | None,
    senior_dms: SeniorDms | None = None,
) -> bool:
    """Set the client's DM and squad; only Executives and Heads may (docs/access.md). A Platinum client
    handed to a DM who is not a senior DM is flagged and announced (SeniorDmMissing)."""
    if not identity.sees_all_clients:
        raise Forbidden("only an Executive or a Head may assign a client's DM or squad")
    if (dm_id, squad_id) == (client.dm_id, client.squad_id):
        return False
    previous_dm, previous_squad = client.dm_id, client.squad_id
    senior_dms = senior_dms or SeniorDms()
    was_missing = senior_dms.client_missing(client)
    client.dm_id, client.squad_id = dm_id, squad_id
    await emit(
        session,
        ClientAssigned(
            client_id=client.id,
            dm_id=dm_id,
            squad_id=squad_id,
            previous_dm_id=previous_dm,
            previous_squad_id=previous_squad,
            assigned_by=identity.sub,
        ),
        line=f"Assigned to DM {dm_id or 'nobody'} in squad {squad_id or 'none'}",
        actor=identity.sub,
    )
    await tell_if_senior_dm_missing(session, senior_dms, client, was_missing=was_missing)
    return True
