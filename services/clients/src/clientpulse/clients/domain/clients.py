"""Client profiles as a caller sees them: unknown and invisible clients look the same (docs/access.md)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.shared.errors import NotFound
from clientpulse.shared.identity import Identity


async def visible_client(session: AsyncSession, identity: Identity, client_id: str) -> tuple[Client, Company]:
    """A client the caller may see; 404 for unknown and invisible alike (docs/access.md)."""
    found = await ClientRepository(session).get_with_company(client_id)
    if found is None or not identity.can_access_client(dm_id=found[0].dm_id, squad_id=found[0].squad_id):
        raise NotFound(f"client {client_id} was not found")
    return found
