"""Tables of the notifications service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class Notification(Base):
    """One message to one person; at most one per source event and recipient."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_event_id", "recipient_id"),
        Index("ix_notifications_recipient_id_id", "recipient_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(120))
    rule: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(String(500))
    source_event_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class QbrEpisode(Base):
    """One overdue-QBR episode of a client (one per due date), escalated to the squad's Heads at most once."""

    __tablename__ = "qbr_episodes"
    __table_args__ = (
        UniqueConstraint("client_id", "due_on"),
        Index(
            "ix_qbr_episodes_pending",
            "escalate_on",
            postgresql_where=text("escalated_at IS NULL AND resolved_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    last_qbr_on: Mapped[date | None] = mapped_column(Date)
    escalate_on: Mapped[date] = mapped_column(Date)
    squad_id: Mapped[str | None] = mapped_column(String(120))
    source_event_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class LatestQbr(Base):
    """The most recent QBR each client held, as the clients service announced it (QbrLogged)."""

    __tablename__ = "latest_qbrs"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)


class Webhook(Base):
    """An outside endpoint an Executive registered for some event types.

    The signing secret is kept (encrypted) to sign deliveries; it leaves the service once, in the creation
    response.
    """

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(300))
    secret: Mapped[str] = mapped_column(String(500), comment="encrypted with the webhook secrets key")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event on its way to one webhook: a row of the delivery outbox, written with the event's effect."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64), ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery, kept as its log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(64), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


class EmailMessage(Base):
    """A notification on its way out by email (only when SMTP is configured)."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("notification_id"),
        Index("ix_email_messages_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
