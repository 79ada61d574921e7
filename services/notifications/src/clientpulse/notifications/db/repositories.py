"""Repositories of the notifications service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.models import (
    EmailMessage,
    LatestQbr,
    Notification,
    QbrEpisode,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
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


class QbrEpisodeRepository:
    """Overdue-QBR episodes waiting for their escalation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, object]) -> bool:
        """Record an episode unless one with the same client and due date exists; True when inserted."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, QbrEpisode.__table__).values(**values)
        )
        return affected_rows(result) == 1

    async def record_qbr_held(self, client_id: str, held_on: date) -> None:
        """Remember the client's latest QBR (kept as the maximum whatever order the events arrive in)."""
        await self.session.execute(
            insert_ignoring_conflicts(self.session, LatestQbr.__table__).values(client_id=client_id, held_on=held_on)
        )
        await self.session.execute(
            update(LatestQbr)
            .where(LatestQbr.client_id == client_id, LatestQbr.held_on < held_on)
            .values(held_on=held_on)
        )

    async def latest_qbr(self, client_id: str) -> date | None:
        """When the client last held a QBR, as far as this service heard."""
        return await self.session.scalar(select(LatestQbr.held_on).where(LatestQbr.client_id == client_id))

    async def claim_due(self, today: date, *, limit: int, lock: bool) -> Sequence[QbrEpisode]:
        """Open episodes whose escalation date has come (locked against other runs on PostgreSQL)."""
        query = (
            select(QbrEpisode)
            .where(QbrEpisode.escalate_on <= today, QbrEpisode.escalated_at.is_(None), QbrEpisode.resolved_at.is_(None))
            .order_by(QbrEpisode.escalate_on, QbrEpisode.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()


class WebhookRepository:
    """Registered webhooks and their delivery outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, webhook: Webhook) -> Webhook:
        """Register a webhook."""
        self.session.add(webhook)
        await self.session.flush()
        return webhook

    async def get(self, webhook_id: str) -> Webhook | None:
        """A webhook that has not been deleted."""
        webhook = await self.session.get(Webhook, webhook_id)
        return webhook if webhook is not None and webhook.deleted_at is None else None

    async def list_registered(self, *, after_id: str | None, limit: int) -> Sequence[Webhook]:
        """Webhooks that have not been deleted, oldest first."""
        query = select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.id).limit(limit)
        if after_id:
            query = query.where(Webhook.id > after_id)
        return (await self.session.scalars(query)).all()

    async def subscribed_to(self, event_type: str) -> list[Webhook]:
        """Active webhooks that asked for this event type."""
        query = select(Webhook).where(Webhook.active.is_(True), Webhook.deleted_at.is_(None))
        return [w for w in (await self.session.scalars(query)).all() if event_type in (w.event_types or [])]

    async def enqueue(self, values: dict[str, object]) -> bool:
        """Add a delivery unless this event is already on its way to this webhook."""
        result = await self.session.execute(
            insert_ignoring_conflicts(self.session, WebhookDelivery.__table__).values(**values)
        )
        return affected_rows(result) == 1

    async def claim_due(self, now: datetime, lease_until: datetime, *, limit: int, lock: bool) -> list[WebhookDelivery]:
        """Pending deliveries that are due, leased until ``lease_until`` so no other worker takes them meanwhile."""
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        deliveries = list((await self.session.scalars(query)).all())
        for delivery in deliveries:
            delivery.next_attempt_at = lease_until
        return deliveries

    async def delivery(self, delivery_id: str) -> WebhookDelivery | None:
        """One delivery."""
        return await self.session.get(WebhookDelivery, delivery_id)

    async def webhook_for_update(self, webhook_id: str) -> Webhook | None:
        """A webhook, locked while its failure count changes."""
        query = select(Webhook).where(Webhook.id == webhook_id)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def add_attempt(self, attempt: WebhookAttempt) -> None:
        """Log one HTTP attempt."""
        self.session.add(attempt)

    async def abandon_pending(self, webhook_id: str, reason: str) -> int:
        """A disabled or deleted webhook: its pending deliveries will not be sent."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
            .values(status="abandoned", last_error=reason)
        )
        return affected_rows(result)

    async def deliveries(self, webhook_id: str, *, before_id: str | None, limit: int) -> Sequence[WebhookDelivery]:
        """A webhook's deliveries, newest first."""
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before_id:
            query = query.where(WebhookDelivery.id < before_id)
        return (await self.session.scalars(query)).all()

    async def attempts_of(self, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
        """The attempt log of each delivery, in order."""
        if not delivery_ids:
            return {}
        rows = await self.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        )
        grouped: dict[str, list[WebhookAttempt]] = {}
        for attempt in rows:
            grouped.setdefault(attempt.delivery_id, []).append(attempt)
        return grouped


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
