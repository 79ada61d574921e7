"""Company records: every organisation the agency knows, client or not. Each use case runs inside the
caller's unit of work (an HTTP request or an event handler) and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Company
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.db.repositories.companies import CompanyRepository
from clientpulse.clients.domain.history import emit
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import ClientUpdated
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound
from clientpulse.shared.identity import Identity


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


async def get_company(session: AsyncSession, identity: Identity, company_id: str) -> Company:
    """A company the caller may know of, or 404: another squad's client answers as an unknown company."""
    company = await CompanyRepository(session).get_visible(identity, company_id)
    if company is None:
        raise NotFound(f"company {company_id} was not found")
    return company


async def update_company(
    session: AsyncSession, identity: Identity, company_id: str, changes: dict[str, Any]
) -> Company:
    """Change a company's fields; a client's consumers hear of a new name through ClientUpdated."""
    company = await get_company(session, identity, company_id)
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
