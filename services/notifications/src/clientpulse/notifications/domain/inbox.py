"""Delivering rule messages: the in-app inbox, the optional email channel, and outgoing webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.repositories.emails import EmailRepository
from clientpulse.notifications.db.repositories.notifications import NotificationRepository
from clientpulse.notifications.db.repositories.webhooks import WebhookRepository
from clientpulse.notifications.domain.rules import Message
from clientpulse.shared.contracts import Envelope, new_event_id
from clientpulse.shared.db import utcnow

NOTIFICATIONS_CREATED = Counter("clientpulse_notifications_created_total", "Notifications created, by rule", ["rule"])


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """Who gets an email copy of their notifications (empty: the channel is off)."""

    addresses: dict[str, str] = field(default_factory=dict)

    def address_of(self, recipient_id: str) -> str | None:
        """The recipient's email address, if they have one configured."""
        return self.addresses.get(recipient_id)


async def deliver(
    session: AsyncSession, source_event_id: str, messages: list[Message], email: EmailChannel | None = None
) -> int:
    """Store each message once per (source event, recipient); returns how many were new.

    A new notification for someone with an email address also queues one email, in the same
    transaction, so a redelivered event never sends a second one.
    """
    repository = NotificationRepository(session)
    created = 0
    for message in messages:
        notification_id = new_event_id()
        now = utcnow()
        inserted = await repository.add_once(
            {
                "id": notification_id,
                "recipient_id": message.recipient_id,
                "rule": message.rule,
                "title": message.title,
                "body": message.body,
                "client_id": message.client_id,
                "link": message.link,
                "source_event_id": source_event_id,
                "created_at": now,
            }
        )
        if not inserted:
            continue
        created += 1
        NOTIFICATIONS_CREATED.labels(message.rule).inc()
        address = email.address_of(message.recipient_id) if email else None
        if address:
            await EmailRepository(session).enqueue(
                {
                    "id": new_event_id(),
                    "notification_id": notification_id,
                    "to_address": address,
                    "subject": message.title,
                    "body": message.body + (f"\n\n{message.link}" if message.link else ""),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    return created


async def enqueue_webhooks(session: AsyncSession, envelope: Envelope[Any]) -> int:
    """Queue the event for every active webhook subscribed to its type; returns how many were queued.

    Written in the consumer's transaction (a delivery outbox), so an event is queued exactly once per
    webhook whatever the redeliveries, and a crash before commit queues nothing.
    """
    event_type = envelope.data.event_type
    repository = WebhookRepository(session)
    queued = 0
    now = utcnow()
    for webhook in await repository.subscribed_to(event_type):
        queued += await repository.enqueue(
            {
                "id": new_event_id(),
                "webhook_id": webhook.id,
                "event_id": envelope.id,
                "event_type": event_type,
                "payload": envelope.to_json(),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return queued
