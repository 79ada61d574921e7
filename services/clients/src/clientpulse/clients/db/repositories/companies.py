"""Queries and writes of the ``companies`` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company


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

    async def find_by_domain(self, domain: str) -> Company | None:
        """The first company with this web domain, ignoring case."""
        query = select(Company).where(func.lower(Company.domain) == domain.lower()).order_by(Company.id).limit(1)
        return await self.session.scalar(query)

    async def find_by_name(self, name: str) -> Company | None:
        """The first company with exactly this name, ignoring case."""
        query = select(Company).where(Company.name_key == name.lower()).order_by(Company.id).limit(1)
        return await self.session.scalar(query)

    async def client_ids(self, company_ids: Sequence[str]) -> set[str]:
        """Which of these companies are clients."""
        if not company_ids:
            return set()
        return set((await self.session.scalars(select(Client.id).where(Client.id.in_(company_ids)))).all())

    async def list(self, *, search: str | None, after_id: str | None, limit: int) -> Sequence[Company]:
        """Companies in creation order (ids are time-ordered), optionally matching a name fragment."""
        query = select(Company).order_by(Company.id).limit(limit)
        if search:
            query = query.where(Company.name_key.contains(search.strip().lower(), autoescape=True))
        if after_id:
            query = query.where(Company.id > after_id)
        return (await self.session.scalars(query)).all()
