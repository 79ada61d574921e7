"""A client's lifecycle status: Prospect, Active, Dormant or Alumni, with who moved it, when and why
(docs/domain-rules.md, "Status").
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client
from clientpulse.clients.domain.history import emit
from clientpulse.clients.domain.qbrs import refresh_qbr_due
from clientpulse.shared.contracts.events import ClientStatus, ClientStatusChanged
from clientpulse.shared.db import utcnow
from clientpulse.shared.identity import Identity


async def change_status(
    session: AsyncSession, identity: Identity, client: Client, new_status: ClientStatus, reason: str | None
) -> bool:
    """Move a client between Prospect, Active, Dormant and Alumni, keeping who, when and why."""
    old = ClientStatus(client.status)
    if new_status is old:
        return False
    now = utcnow()
    client.status = new_status.value
    client.status_changed_at = now
    client.status_changed_by = identity.sub
    client.status_reason = reason
    if new_status is ClientStatus.ACTIVE:
        client.active_since = now.date()
        refresh_qbr_due(client)
    because = f": {reason}" if reason else ""
    await emit(
        session,
        ClientStatusChanged(
            client_id=client.id, old_status=old, new_status=new_status, reason=reason, changed_by=identity.sub
        ),
        line=f"Status changed from {old.value} to {new_status.value}{because}",
        actor=identity.sub,
    )
    return True
