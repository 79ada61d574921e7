"""Group accounts: a client may sit under a parent client; a group never loops back on itself."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.history import add_entry, emit
from clientpulse.shared.contracts.events import ClientGroupChanged
from clientpulse.shared.errors import Conflict, Unprocessable
from clientpulse.shared.identity import Identity


def creates_group_cycle(client_id: str, new_parent_id: str, parent_of: Callable[[str], str | None]) -> bool:
    """Whether making ``new_parent_id`` the parent of ``client_id`` closes a loop.

    Walks up from the new parent; reaching the client means the client would be its own ancestor.
    """
    seen: set[str] = set()
    current: str | None = new_parent_id
    while current is not None and current not in seen:
        if current == client_id:
            return True
        seen.add(current)
        current = parent_of(current)
    return current is not None


async def _check_parent(session: AsyncSession, identity: Identity, client: Client, parent_id: str) -> None:
    clients = ClientRepository(session)
    parent = await clients.get(parent_id)
    if parent is None or not identity.can_access_client(dm_id=parent.dm_id, squad_id=parent.squad_id):
        raise Unprocessable(f"parent client {parent_id} was not found")
    chain: dict[str, str | None] = {}
    current: str | None = parent_id
    while current is not None and current not in chain:
        chain[current] = await clients.parent_of(current)
        current = chain[current]
    if creates_group_cycle(client.id, parent_id, chain.get):
        raise Conflict(f"making {parent_id} the parent of {client.id} would create a cycle in the group")


async def set_parent(session: AsyncSession, identity: Identity, client: Client, parent_id: str | None) -> bool:
    """Put a client under a parent group account (or take it out with None); no self-parenting, no cycles."""
    if parent_id == client.id:
        raise Unprocessable("a client cannot be its own parent")
    if parent_id == client.parent_id:
        return False
    if parent_id is not None:
        await _check_parent(session, identity, client, parent_id)
    previous = client.parent_id
    client.parent_id = parent_id
    # The group accounts see their membership change in their own history too.
    if previous is not None:
        add_entry(session, client_id=previous, kind="GroupMemberRemoved", line=f"{client.id} left the group",
                  actor=identity.sub, details={"member_id": client.id})  # fmt: skip
    if parent_id is not None:
        add_entry(session, client_id=parent_id, kind="GroupMemberAdded", line=f"{client.id} joined the group",
                  actor=identity.sub, details={"member_id": client.id})  # fmt: skip
    await emit(
        session,
        ClientGroupChanged(
            client_id=client.id, parent_id=parent_id, previous_parent_id=previous, changed_by=identity.sub
        ),
        line=f"Group parent set to {parent_id}" if parent_id else "Removed from its group account",
        actor=identity.sub,
    )
    return True
