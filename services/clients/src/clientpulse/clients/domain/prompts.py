"""Conversion prompts: a won deal offers to convert its company into a client; someone accepts or
dismisses the offer.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company, ConversionPrompt
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.db.repositories.companies import CompanyRepository
from clientpulse.clients.db.repositories.prompts import ConversionPromptRepository
from clientpulse.clients.domain.conversion import convert_company
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, NotFound
from clientpulse.shared.identity import Identity


class PromptState:
    """States of a conversion prompt."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


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


async def _pending_prompt(session: AsyncSession, identity: Identity, prompt_id: str) -> ConversionPrompt:
    # The prompt of another squad's client answers as an unknown prompt, whatever its state.
    prompt = await ConversionPromptRepository(session).get_visible(identity, prompt_id)
    if prompt is None:
        raise NotFound(f"conversion prompt {prompt_id} was not found")
    if prompt.state != PromptState.PENDING:
        raise Conflict(f"conversion prompt {prompt_id} is already {prompt.state}")
    return prompt


async def accept_prompt(
    session: AsyncSession, identity: Identity, prompt_id: str, *, dm_id: str | None, squad_id: str | None
) -> tuple[Client, Company, ConversionPrompt]:
    """Accept a prompt: the company becomes an Active client."""
    prompt = await _pending_prompt(session, identity, prompt_id)
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
    prompt = await _pending_prompt(session, identity, prompt_id)
    prompt.state = PromptState.DISMISSED
    prompt.resolved_at = utcnow()
    prompt.resolved_by = identity.sub
    prompt.note = note
    return prompt
