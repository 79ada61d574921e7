"""Delivering rule messages into the in-app inbox."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.repositories import NotificationRepository
from clientpulse.notifications.domain.rules import Message
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow

NOTIFICATIONS_CREATED = Counter("clientpulse_notifications_created_total", "Notifications created, by rule", ["rule"])


async def deliver(session: AsyncSession, source_event_id: str, messages: list[Message]) -> int:
    """Store each message once per (source event, recipient); returns how many were new."""
    repository = NotificationRepository(session)
    created = 0
    for message in messages:
        inserted = await repository.add_once(
            {
                "id": new_event_id(),
                "recipient_id": message.recipient_id,
                "rule": message.rule,
                "title": message.title,
                "body": message.body,
                "client_id": message.client_id,
                "link": message.link,
                "source_event_id": source_event_id,
                "created_at": utcnow(),
            }
        )
        if inserted:
            created += 1
            NOTIFICATIONS_CREATED.labels(message.rule).inc()
    return created
