"""Repositories: queries and writes of the clients service's tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company, ConversionPrompt
from clientpulse.shared.identity import Identity, Role


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

    async def list(self, *, search: str | None, after_id: str | None, limit: int) -> Sequence[Company]:
        """Companies in creation order (ids are time-ordered), optionally matching a name fragment."""
        query = select(Company).order_by(Company.id).limit(limit)
        if search:
            query = query.where(Company.name_key.contains(search.strip().lower(), autoescape=True))
        if after_id:
            query = query.where(Company.id > after_id)
        return (await self.session.scalars(query)).all()


class ClientRepository:
    """Client profiles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> Client | None:
        """One client profile by id (the company's id)."""
        return await self.session.get(Client, client_id)

    async def get_with_company(self, client_id: str) -> tuple[Client, Company] | None:
        """A client and its company in one query."""
        row = (
            await self.session.execute(
                select(Client, Company).join(Company, Company.id == Client.id).where(Client.id == client_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def add(self, client: Client) -> None:
        """Stage a new client profile."""
        self.session.add(client)

    async def list_visible(
        self, identity: Identity, *, status: str | None, after_id: str | None, limit: int
    ) -> Sequence[tuple[Client, Company]]:
        """The clients the caller may see, in creation order."""
        query = select(Client, Company).join(Company, Company.id == Client.id).order_by(Client.id).limit(limit)
        if not identity.sees_all_clients:
            if identity.role is not Role.MANAGER:
                return []
            mine = [Client.dm_id == identity.sub]
            if identity.squad:
                mine.append(Client.squad_id == identity.squad)
            query = query.where(or_(*mine))
        if status:
            query = query.where(Client.status == status)
        if after_id:
            query = query.where(and_(Client.id > after_id))
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]


class ConversionPromptRepository:
    """Conversion prompts from won deals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, prompt_id: str) -> ConversionPrompt | None:
        """One prompt by id."""
        return await self.session.get(ConversionPrompt, prompt_id)

    async def get_by_deal(self, deal_id: str) -> ConversionPrompt | None:
        """The prompt a deal produced, if any."""
        return await self.session.scalar(select(ConversionPrompt).where(ConversionPrompt.deal_id == deal_id))

    def add(self, prompt: ConversionPrompt) -> None:
        """Stage a new prompt."""
        self.session.add(prompt)

    async def list(self, *, state: str | None, after_id: str | None, limit: int) -> Sequence[ConversionPrompt]:
        """Prompts in creation order, optionally in one state."""
        query = select(ConversionPrompt).order_by(ConversionPrompt.id).limit(limit)
        if state:
            query = query.where(ConversionPrompt.state == state)
        if after_id:
            query = query.where(ConversionPrompt.id > after_id)
        return (await self.session.scalars(query)).all()
