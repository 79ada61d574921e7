"""Published framework versions (``framework_versions``) and proposals (``framework_proposals``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.tiering.db.models import FrameworkProposal, FrameworkVersion
from clientpulse.tiering.domain.framework import BUILT_IN, Framework, framework_of


class FrameworkRepository:
    """Which framework is in force, every version ever published, and the proposals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def in_force(self) -> Framework:
        """The newest published version; the code's version 1 until one is published."""
        newest = await self.session.scalar(select(func.max(FrameworkVersion.version)))
        return await self.version(int(newest)) or BUILT_IN if newest is not None else BUILT_IN

    async def version(self, version: int) -> Framework | None:
        """One version, as it was published (version 1 is the code's)."""
        if version == BUILT_IN.version:
            return BUILT_IN
        row = await self.session.get(FrameworkVersion, version)
        return framework_of(row.version, row.weights, row.band_floors) if row is not None else None

    def add(self, row: FrameworkVersion | FrameworkProposal) -> None:
        """Stage a new proposal or version."""
        self.session.add(row)

    async def proposal(self, proposal_id: str, *, for_update: bool = False) -> FrameworkProposal | None:
        """A proposal by id."""
        return await self.session.get(FrameworkProposal, proposal_id, with_for_update=for_update)
