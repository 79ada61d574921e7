"""Queries and writes of the conversion prompts raised by won deals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, ConversionPrompt
from clientpulse.clients.db.repositories.clients import visible_to
from clientpulse.shared.identity import Identity


def prompt_visible_to(identity: Identity) -> ColumnElement[bool]:
    """A prompt the caller may know of: its company is no client yet, or a client they may see."""
    is_client = exists().where(Client.id == ConversionPrompt.company_id)
    visible_client = exists().where(Client.id == ConversionPrompt.company_id, visible_to(identity))
    return or_(~is_client, visible_client)


class ConversionPromptRepository:
    """Conversion prompts from won deals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, prompt_id: str) -> ConversionPrompt | None:
        """One prompt by id."""
        return await self.session.get(ConversionPrompt, prompt_id)

    async def get_visible(self, identity: Identity, prompt_id: str) -> ConversionPrompt | None:
        """One prompt by id, if the caller may know of it."""
        query = select(ConversionPrompt).where(ConversionPrompt.id == prompt_id, prompt_visible_to(identity))
        return await self.session.scalar(query)

    async def get_by_deal(self, deal_id: str) -> ConversionPrompt | None:
        """The prompt a deal produced, if any."""
        return await self.session.scalar(select(ConversionPrompt).where(ConversionPrompt.deal_id == deal_id))

    def add(self, prompt: ConversionPrompt) -> None:
        """Stage a new prompt."""
        self.session.add(prompt)

    async def list(
        self, identity: Identity, *, state: str | None, after_id: str | None, limit: int
    ) -> Sequence[ConversionPrompt]:
        """Prompts the caller may know of in creation order, optionally in one state."""
        query = select(ConversionPrompt).where(prompt_visible_to(identity)).order_by(ConversionPrompt.id).limit(limit)
        if state:
            query = query.where(ConversionPrompt.state == state)
        if after_id:
            query = query.where(ConversionPrompt.id > after_id)
        return (await self.session.scalars(query)).all()
