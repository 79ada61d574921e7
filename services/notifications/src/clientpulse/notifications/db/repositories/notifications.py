"""The in-app inbox's notifications."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.models import (
    Notification,
)
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts


class NotificationRepository:
    """The in-app inbox."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, object]) -> bool:
        """Insert unless this source event already notified this recipient; True when inserted."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, Notification.__table__).values(**values)
        )
        return affected_rows(result) == 1

    async def list_for(
        self, recipient_id: str, *, unread_only: bool, before_id: str | None, limit: int
    ) -> Sequence[Notification]:
        """A recipient's notifications, newest first."""
        query = (
            select(Notification)
            .where(Notification.recipient_id == recipient_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        if before_id:
            query = query.where(Notification.id < before_id)
        return (await self.session.scalars(query)).all()

    async def unread_count(self, recipient_id: str) -> int:
        """How many of a recipient's notifications are unread."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
        )
        return int(count or 0)

    async def mark_read(self, recipient_id: str, notification_id: str, at: datetime) -> Notification | None:
        """Mark one of the recipient's notifications read (no-op when already read)."""
        notification = await self.session.get(Notification, notification_id)
        if notification is None or notification.recipient_id != recipient_id:
            return None
        if notification.read_at is None:
            notification.read_at = at
        return notification

    async def mark_all_read(self, recipient_id: str, at: datetime) -> int:
        """Mark every unread notification of the recipient read; returns how many changed."""
        result = await self.session.execute(
            update(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
            .values(read_at=at)
        )
        return affected_rows(result)

    async def list_after(self, recipient_id: str, after_id: str, limit: int) -> Sequence[Notification]:
        """A recipient's notifications with ids above ``after_id``, oldest first (what a stream sends next)."""
        query = (
            select(Notification)
            .where(Notification.recipient_id == recipient_id, Notification.id > after_id)
            .order_by(Notification.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def ids_after(self, recipient_id: str, after_id: str) -> Sequence[str]:
        """The ids of a recipient's notifications above ``after_id``, oldest first (a stream's look back)."""
        query = (
            select(Notification.id)
            .where(Notification.recipient_id == recipient_id, Notification.id > after_id)
            .order_by(Notification.id)
        )
        return (await self.session.scalars(query)).all()

    async def with_ids(self, ids: Collection[str]) -> Sequence[Notification]:
        """The notifications with these ids, oldest first."""
        return (
            await self.session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id))
        ).all()
