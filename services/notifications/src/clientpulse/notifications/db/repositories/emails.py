"""E-mail messages queued for the SMTP channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.models import (
    EmailMessage,
)
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts


class EmailRepository:
    """Emails waiting for the SMTP server."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, values: dict[str, object]) -> bool:
        """Queue an email for a notification (once)."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, EmailMessage.__table__).values(**values)
        )
        return affected_rows(result) == 1

    async def claim_due(self, now: datetime, lease_until: datetime, *, limit: int, lock: bool) -> list[EmailMessage]:
        """Pending emails that are due, leased like webhook deliveries."""
        query = (
            select(EmailMessage)
            .where(EmailMessage.status == "pending", EmailMessage.next_attempt_at <= now)
            .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        messages = list((await self.session.scalars(query)).all())
        for message in messages:
            message.next_attempt_at = lease_until
        return messages

    async def get(self, message_id: str) -> EmailMessage | None:
        """One queued email."""
        return await self.session.get(EmailMessage, message_id)
