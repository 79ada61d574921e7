"""Service functions of the clients service: each is one use case, run inside the caller's unit of
work (an HTTP request or an event handler). They never commit; events go to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company, ConversionPrompt
from clientpulse.clients.db.repositories import ClientRepository, CompanyRepository, ConversionPromptRepository
from clientpulse.clients.domain.conversion import initial_assignment, status_from_company, status_from_deal
from clientpulse.clients.domain.history import emit
from clientpulse.clients.domain.profiles import refresh_qbr_due
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus, ClientUpdated, DealWon
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, NotFound
from clientpulse.shared.identity import Identity

SOURCE = "clients"


class PromptState:
    """States of a conversion prompt."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class CompanyInput:
    """Fields a caller may set on a company."""

    name: str
    domain: str | None = None
    industry: str | None = None


async def create_company(session: AsyncSession, fields: CompanyInput, *, company_id: str | None = None) -> Company:
    """Add a company record (under a given id when it comes from another system, such as the CRM)."""
    now = utcnow()
    company = Company(
        id=company_id or new_event_id(),
        name=fields.name,
        name_key=fields.name.lower(),
        domain=fields.domain,
        industry=fields.industry,
        created_at=now,
        updated_at=now,
    )
    CompanyRepository(session).add(company)
    await session.flush()
    return company


async def get_company(session: AsyncSession, company_id: str) -> Company:
    """A company, or 404."""
    company = await CompanyRepository(session).get(company_id)
    if company is None:
        raise NotFound(f"company {company_id} was not found")
    return company


async def update_company(
    session: AsyncSession, identity: Identity, company_id: str, changes: dict[str, Any]
) -> Company:
    """Change a company's fields; a client's consumers hear of a new name through ClientUpdated."""
    company = await get_company(session, company_id)
    changed = [key for key, value in changes.items() if getattr(company, key) != value]
    for key in changed:
        setattr(company, key, changes[key])
    if "name" in changed:
        company.name_key = company.name.lower()
    if changed:
        company.updated_at = utcnow()
        client = await ClientRepository(session).get(company_id)
        if client is not None:
            await emit(
                session,
                ClientUpdated(client_id=company.id, name=company.name, changed_fields=changed, updated_by=identity.sub),
                line=f"Profile updated: {', '.join(changed)}",
                actor=identity.sub,
            )
    return company


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
    company = await get_company(session, company_id)
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


async def visible_client(session: AsyncSession, identity: Identity, client_id: str) -> tuple[Client, Company]:
    """A client the caller may see; 404 for unknown and invisible alike (DESIGN.md §7)."""
    found = await ClientRepository(session).get_with_company(client_id)
    if found is None or not identity.can_access_client(dm_id=found[0].dm_id, squad_id=found[0].squad_id):
        raise NotFound(f"client {client_id} was not found")
    return found


async def record_deal_won(session: AsyncSession, deal: DealWon) -> ConversionPrompt | None:
    """Offer to convert the company of a won deal; nothing when it is already a client.

    A company the CRM knows but the agency's records do not yet is created from the deal.
    """
    prompts = ConversionPromptRepository(session)
    if await prompts.get_by_deal(deal.deal_id) is not None:
        return None
    companies = CompanyRepository(session)
    company = await companies.get(deal.client_id)
    now = utcnow()
    if company is None:
        name = deal.company_name or deal.deal_name or deal.client_id
        company = Company(
            id=deal.client_id,
            name=name,
            name_key=name.lower(),
            domain=None,
            industry=None,
            created_at=now,
            updated_at=now,
        )
        companies.add(company)
    elif await ClientRepository(session).get(company.id) is not None:
        return None
    prompt = ConversionPrompt(
        id=new_event_id(),
        company_id=company.id,
        deal_id=deal.deal_id,
        deal_name=deal.deal_name,
        owner_id=deal.owner_id,
        amount_minor=deal.amount_minor,
        currency=deal.currency,
        state=PromptState.PENDING,
        created_at=now,
    )
    prompts.add(prompt)
    await session.flush()
    return prompt


async def _pending_prompt(session: AsyncSession, prompt_id: str) -> ConversionPrompt:
    prompt = await ConversionPromptRepository(session).get(prompt_id)
    if prompt is None:
        raise NotFound(f"conversion prompt {prompt_id} was not found")
    if prompt.state != PromptState.PENDING:
        raise Conflict(f"conversion prompt {prompt_id} is already {prompt.state}")
    return prompt


async def accept_prompt(
    session: AsyncSession, identity: Identity, prompt_id: str, *, dm_id: str | None, squad_id: str | None
) -> tuple[Client, Company, ConversionPrompt]:
    """Accept a prompt: the company becomes an Active client."""
    prompt = await _pending_prompt(session, prompt_id)
    client, company = await convert_company(
        session, identity, prompt.company_id, dm_id=dm_id, squad_id=squad_id, from_prompt=prompt
    )
    prompt.state = PromptState.ACCEPTED
    prompt.resolved_at = utcnow()
    prompt.resolved_by = identity.sub
    return client, company, prompt


async def dismiss_prompt(
    session: AsyncSession, identity: Identity, prompt_id: str, note: str | None
) -> ConversionPrompt:
    """Dismiss a prompt; the company stays a plain company record."""
    prompt = await _pending_prompt(session, prompt_id)
    prompt.state = PromptState.DISMISSED
    prompt.resolved_at = utcnow()
    prompt.resolved_by = identity.sub
    prompt.note = note
    return prompt
