"""Tables of the clients service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class Company(Base):
    """A company record of the agency; the client layer sits on it."""

    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True, doc="lower-cased name for search")
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Client(Base):
    """A company's client profile; its id is the company's id."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), ForeignKey("companies.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    dm_id: Mapped[str | None] = mapped_column(String(120), index=True)
    squad_id: Mapped[str | None] = mapped_column(String(120), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("clients.id"), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    status_changed_at: Mapped[datetime]


class ConversionPrompt(Base):
    """An offer, made when a deal is won, to turn the company into an Active client."""

    __tablename__ = "conversion_prompts"
    __table_args__ = (Index("ix_conversion_prompts_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64), ForeignKey("companies.id"), index=True)
    deal_id: Mapped[str] = mapped_column(String(120), unique=True)
    deal_name: Mapped[str | None] = mapped_column(String(300))
    owner_id: Mapped[str | None] = mapped_column(String(120))
    amount_minor: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
