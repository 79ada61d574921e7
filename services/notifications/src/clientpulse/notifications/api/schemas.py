"""Response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from clientpulse.notifications.db.models import Notification


class NotificationRead(BaseModel):
    """One notification in the caller's inbox."""

    id: str
    rule: str
    title: str
    body: str
    client_id: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationRead:
        """Map a stored notification."""
        return cls(
            id=notification.id,
            rule=notification.rule,
            title=notification.title,
            body=notification.body,
            client_id=notification.client_id,
            link=notification.link,
            created_at=notification.created_at,
            read_at=notification.read_at,
        )


class UnreadCount(BaseModel):
    """How many notifications are unread."""

    unread: int


class MarkedRead(BaseModel):
    """How many notifications a read-all changed."""

    marked: int
