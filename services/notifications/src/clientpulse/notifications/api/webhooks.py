"""Outgoing webhooks (``/api/v1/webhooks``): Executives register endpoints and read delivery logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field

from clientpulse.notifications.db.models import Webhook, WebhookAttempt, WebhookDelivery
from clientpulse.notifications.db.repositories.webhooks import WebhookRepository
from clientpulse.notifications.domain.webhooks import WEBHOOK_EVENT_TYPES, TargetRefused, new_secret, seal_secret
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.notifications.webhook_target import check_target
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.guards import ExecutiveController, InputModel
from clientpulse.shared.pagination import Page, clamp_limit, cursor_id, next_cursor_after
from clientpulse.shared.service import Caller, Db

Settings = NamedDependency[NotificationsSettings]

EventType = Annotated[str, Field(min_length=1, max_length=80, json_schema_extra={"enum": list(WEBHOOK_EVENT_TYPES)})]


class WebhookCreate(InputModel):
    """A webhook to register: an HTTPS endpoint and the event types it wants."""

    url: str = Field(min_length=1, max_length=2000, description="https:// endpoint on a public address")
    event_types: list[EventType] = Field(min_length=1, max_length=len(WEBHOOK_EVENT_TYPES))
    description: str | None = Field(default=None, max_length=300)


class WebhookRead(BaseModel):
    """A registered webhook (never its secret)."""

    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookRead:
        """Map a stored webhook."""
        return cls(
            id=webhook.id,
            url=webhook.url,
            event_types=list(webhook.event_types),
            description=webhook.description,
            active=webhook.active,
            consecutive_failures=webhook.consecutive_failures,
            disabled_at=webhook.disabled_at,
            disabled_reason=webhook.disabled_reason,
            created_by=webhook.created_by,
            created_at=webhook.created_at,
        )


class WebhookCreated(WebhookRead):
    """The new webhook with its signing secret, shown this once: store it to verify signatures."""

    secret: str


class AttemptRead(BaseModel):
    """One HTTP attempt of a delivery."""

    number: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptRead:
        """Map a logged attempt."""
        return cls(
            number=attempt.number,
            attempted_at=attempt.attempted_at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class DeliveryRead(BaseModel):
    """One event sent (or being sent) to a webhook, with its attempt log."""

    id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered, failed (gave up) or abandoned (webhook disabled/deleted)")
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptRead]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryRead:
        """Map a delivery and its attempts."""
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            last_error=delivery.last_error,
            attempt_log=[AttemptRead.of(a) for a in attempts],
        )


class WebhookController(ExecutiveController):
    """Registering, listing and removing outgoing webhooks, and their delivery logs (Executives only; the
    gateway checks it too)."""

    path = "/api/v1/webhooks"
    tags = ["webhooks"]

    @post("/", summary="Register a webhook (the secret is shown once)", status_code=HTTP_201_CREATED)
    async def create_webhook(
        self, identity: Caller, db: Db, settings: Settings, data: JSONBody[WebhookCreate]
    ) -> WebhookCreated:
        unknown = sorted(set(data.event_types) - set(WEBHOOK_EVENT_TYPES))
        if unknown:
            raise Unprocessable(
                f"unknown event types {unknown}; choose from {list(WEBHOOK_EVENT_TYPES)}",
                extra={"errors": [{"key": "event_types", "message": f"unknown: {unknown}"}]},
            )
        try:
            await check_target(data.url, settings)
        except TargetRefused as exc:
            raise Unprocessable(f"url: {exc}", extra={"errors": [{"key": "url", "message": str(exc)}]}) from exc
        secret = new_secret()
        webhook = Webhook(
            id=new_event_id(),
            url=data.url,
            event_types=list(dict.fromkeys(data.event_types)),
            description=data.description,
            secret=seal_secret(settings.webhook_secrets_key.get_secret_value(), secret),
            created_by=identity.sub,
            created_at=utcnow(),
            active=True,
            consecutive_failures=0,
        )
        async with db.transaction() as session:
            await WebhookRepository(session).add(webhook)
        return WebhookCreated(**WebhookRead.of(webhook).model_dump(), secret=secret)

    @get("/", summary="Registered webhooks")
    async def list_webhooks(
        self,
        db: Db,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[WebhookRead]:
        size = clamp_limit(limit)
        async with db.transaction() as session:
            rows = await WebhookRepository(session).list_registered(after_id=cursor_id(cursor), limit=size + 1)
        next_cursor = next_cursor_after(rows, size)
        return Page[WebhookRead](items=[WebhookRead.of(w) for w in rows[:size]], next_cursor=next_cursor)

    @delete(
        "/{webhook_id:str}",
        summary="Remove a webhook (pending deliveries are abandoned)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_webhook(self, db: Db, webhook_id: FromPath[str]) -> None:
        async with db.transaction() as session:
            repository = WebhookRepository(session)
            webhook = await repository.get(webhook_id)
            if webhook is None:
                raise NotFound(f"webhook {webhook_id} was not found")
            webhook.deleted_at = utcnow()
            webhook.active = False
            await session.flush()
            await repository.abandon_pending(webhook_id, "the webhook was deleted")

    @get("/{webhook_id:str}/deliveries", summary="A webhook's deliveries with their attempt log, newest first")
    async def list_deliveries(
        self,
        db: Db,
        webhook_id: FromPath[str],
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[DeliveryRead]:
        size = clamp_limit(limit)
        async with db.transaction() as session:
            repository = WebhookRepository(session)
            if await repository.get(webhook_id) is None:
                raise NotFound(f"webhook {webhook_id} was not found")
            rows = await repository.deliveries(webhook_id, before_id=cursor_id(cursor), limit=size + 1)
            page = list(rows[:size])
            attempts = await repository.attempts_of([d.id for d in page])
        next_cursor = next_cursor_after(rows, size)
        return Page[DeliveryRead](
            items=[DeliveryRead.of(d, attempts.get(d.id, [])) for d in page], next_cursor=next_cursor
        )
