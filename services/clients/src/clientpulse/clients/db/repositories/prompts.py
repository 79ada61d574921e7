"""Queries and writes of the conversion prompts raised by won deals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import ConversionPrompt


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
