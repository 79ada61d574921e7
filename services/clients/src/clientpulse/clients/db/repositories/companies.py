"""Queries and writes of the ``companies`` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company
from clientpulse.clients.db.repositories.clients import visible_to
from clientpulse.shared.identity import Identity


def company_visible_to(identity: Identity) -> ColumnElement[bool]:
    """A company the caller may know of: one that is no client yet, or a client they may see.

    Another squad's client is, to a Manager, a company that does not exist (docs/access.md).
    """
    is_client = exists().where(Client.id == Company.id)
    visible_client = exists().where(Client.id == Company.id, visible_to(identity))
    return or_(~is_client, visible_client)


class CompanyRepository:
    """Company records."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, company_id: str) -> Company | None:
        """One company by id."""
        return await self.session.get(Company, company_id)

    def add(self, company: Company) -> None:
        """Stage a new company (written at commit)."""
        self.session.add(company)

    async def get_visible(self, identity: Identity, company_id: str) -> Company | None:
        """One company by id, if the caller may know of it."""
        query = select(Company).where(Company.id == company_id, company_visible_to(identity))
        return await self.session.scalar(query)

    async def find_by_domain(self, domain: str, identity: Identity | None = None) -> Company | None:
        """The first company with this web domain, ignoring case (among those ``identity`` may know of)."""
        query = select(Company).where(func.lower(Company.domain) == domain.lower()).order_by(Company.id).limit(1)
        if identity is not None:
            query = query.where(company_visible_to(identity))
        return await self.session.scalar(query)

    async def find_by_name(self, name: str, identity: Identity | None = None) -> Company | None:
        """The first company with exactly this name, ignoring case (among those ``identity`` may know of)."""
        query = select(Company).where(Company.name_key == name.lower()).order_by(Company.id).limit(1)
        if identity is not None:
            query = query.where(company_visible_to(identity))
        return await self.session.scalar(query)

    async def client_ids(self, company_ids: Sequence[str]) -> set[str]:
        """Which of these companies are clients."""
        if not company_ids:
            return set()
        return set((await self.session.scalars(select(Client.id).where(Client.id.in_(company_ids)))).all())

    async def list(
        self, identity: Identity, *, search: str | None, after_id: str | None, limit: int
    ) -> Sequence[Company]:
        """Companies the caller may know of in creation order (ids are time-ordered), optionally by name."""
        query = select(Company).where(company_visible_to(identity)).order_by(Company.id).limit(limit)
        if search:
            query = query.where(Company.name_key.contains(search.strip().lower(), autoescape=True))
        if after_id:
            query = query.where(Company.id > after_id)
        return (await self.session.scalars(query)).all()
