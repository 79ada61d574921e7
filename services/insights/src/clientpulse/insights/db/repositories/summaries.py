"""Relationship summaries (the ``summaries`` table) and the summaries due (the ``summary_requests`` table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Summary, SummaryRequest
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts

MAX_TRIGGERS = 20


class SummaryRepository:
    """Relationship summaries, newest served."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, values: dict[str, Any]) -> None:
        """Stage a summary."""
        self.session.add(Summary(**values))

    async def latest(self, client_id: str) -> Summary | None:
        """A client's newest summary."""
        query = (
            select(Summary)
            .where(Summary.client_id == client_id)
            .order_by(Summary.created_at.desc(), Summary.id.desc())
            .limit(1)
        )
        return await self.session.scalar(query)


class SummaryRequestRepository:
    """The summaries due, one row per client while its burst of events lasts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def note(self, client_id: str, trigger: str, at: datetime) -> bool:
        """Note a significant event; True when it starts a burst (no summary was due yet)."""
        values = {"client_id": client_id, "first_event_at": at, "last_event_at": at, "triggers": [trigger]}
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, SummaryRequest.__table__).values(**values)
        )
        if affected_rows(result) == 1:
            return True
        locked = select(SummaryRequest).where(SummaryRequest.client_id == client_id).with_for_update()
        row = await self.session.scalar(locked)
        if row is not None:
            triggers = list(row.triggers)
            if trigger not in triggers and len(triggers) < MAX_TRIGGERS:
                triggers.append(trigger)
            await self.session.execute(
                update(SummaryRequest)
                .where(SummaryRequest.client_id == client_id)
                .values(last_event_at=max(row.last_event_at, at), triggers=triggers)
            )
        return False

    async def of_client(self, client_id: str) -> SummaryRequest | None:
        """The summary due for a client, if any."""
        return await self.session.scalar(select(SummaryRequest).where(SummaryRequest.client_id == client_id))

    async def settle(self, client_id: str, last_event_at: datetime) -> bool:
        """Close the burst written; False when another event came meanwhile (the burst goes on)."""
        result = await self.session.execute(
            delete(SummaryRequest).where(
                SummaryRequest.client_id == client_id, SummaryRequest.last_event_at == last_event_at
            )
        )
        return affected_rows(result) == 1
