"""Outgoing webhooks, their deliveries and attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.models import (
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts


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
