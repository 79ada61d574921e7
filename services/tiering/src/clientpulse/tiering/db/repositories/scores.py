"""Client scores (``client_scores``) and their receipts (``score_receipts``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.tiering.db.models import ClientScore, ScoreReceipt


class ScoreRepository:
    """Clients' current scores and their receipts (the score history)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, client_id: str, *, for_update: bool = False) -> ClientScore | None:
        """A client's current score row, locked for the caller's transaction when asked."""
        query = select(ClientScore).where(ClientScore.client_id == client_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def of_clients(self, client_ids: list[str]) -> list[ClientScore]:
        """The current score rows of several clients (those scored)."""
        if not client_ids:
            return []
        query = select(ClientScore).where(ClientScore.client_id.in_(client_ids))
        return list((await self.session.execute(query)).scalars())

    def add(self, row: ClientScore | ScoreReceipt) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def history(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[ScoreReceipt]:
        """A client's receipts, newest first, after a cursor position."""
        query = select(ScoreReceipt).where(ScoreReceipt.client_id == client_id)
        if before is not None:
            at, receipt_id = before
            query = query.where(
                (ScoreReceipt.recorded_at < at) | ((ScoreReceipt.recorded_at == at) & (ScoreReceipt.id < receipt_id))
            )
        query = query.order_by(ScoreReceipt.recorded_at.desc(), ScoreReceipt.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def recent_scores(self, client_id: str, count: int) -> list[Decimal]:
        """The latest ``count`` scores, oldest first (for the trend)."""
        query = (
            select(ScoreReceipt.score)
            .where(ScoreReceipt.client_id == client_id)
            .order_by(ScoreReceipt.recorded_at.desc(), ScoreReceipt.id.desc())
            .limit(count)
        )
        return list(reversed(list((await self.session.execute(query)).scalars())))
