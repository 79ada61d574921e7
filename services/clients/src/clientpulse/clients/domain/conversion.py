"""Turning a company into a client (docs/domain-rules.md, "Status"): from the company page it starts in
the status asked for, from a won deal it starts Active; converting twice is a conflict.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company, ConversionPrompt
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.assignment import initial_assignment
from clientpulse.clients.domain.companies import get_company
from clientpulse.clients.domain.history import emit
from clientpulse.clients.domain.qbrs import refresh_qbr_due
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict
from clientpulse.shared.identity import Identity


def status_from_company(requested: ClientStatus | None) -> ClientStatus:
    """A client converted from the company page starts in the status asked for, Prospect by default."""
    return requested or ClientStatus.PROSPECT


def status_from_deal() -> ClientStatus:
    """A client converted from a won deal (an accepted prompt) starts Active."""
    return ClientStatus.ACTIVE


async def convert_company(
    session: AsyncSession,
    identity: Identity,
    company_id: str,
    *,
    status: ClientStatus | None = None,
    dm_id: str | None = None,
    squad_id: str | None = None,
    from_prompt: ConversionPrompt | None = None,
) -> tuple[Client, Company]:
    """Make a company a client; converting twice is a 409."""
    company = await get_company(session, identity, company_id)
    clients = ClientRepository(session)
    if await clients.get(company_id) is not None:
        raise Conflict(f"company {company_id} is already a client", extra={"client_id": company_id})
    assignment = initial_assignment(identity, dm_id=dm_id, squad_id=squad_id)
    initial = status_from_deal() if from_prompt is not None else status_from_company(status)
    now = utcnow()
    client = Client(
        id=company.id,
        status=initial.value,
        dm_id=assignment.dm_id,
        squad_id=assignment.squad_id,
        parent_id=None,
        created_at=now,
        created_by=identity.sub,
        status_changed_at=now,
        status_changed_by=identity.sub,
        active_since=now.date() if initial is ClientStatus.ACTIVE else None,
    )
    refresh_qbr_due(client)
    clients.add(client)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent conversion won the race
        raise Conflict(f"company {company_id} is already a client", extra={"client_id": company_id}) from exc
    origin = "from a won deal" if from_prompt else "from the company record"
    await emit(
        session,
        ClientCreated(
            client_id=client.id,
            name=company.name,
            status=initial,
            dm_id=client.dm_id,
            squad_id=client.squad_id,
            parent_id=None,
            created_by=identity.sub,
            converted_from_prompt_id=from_prompt.id if from_prompt else None,
        ),
        line=f"Converted to a client {origin} as {initial.value}",
        actor=identity.sub,
    )
    return client, company
