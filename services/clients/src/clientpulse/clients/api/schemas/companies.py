"""Request and response bodies of companies and their conversion into clients."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from clientpulse.clients.db.models import Company
from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.guards import InputModel


class CompanyCreate(InputModel):
    """A new company record."""

    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)


class CompanyUpdate(InputModel):
    """Fields to change on a company; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("name may not be null")
        return value


class CompanyRead(BaseModel):
    """A company record."""

    id: str
    name: str
    domain: str | None
    industry: str | None
    is_client: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, company: Company, *, is_client: bool) -> CompanyRead:
        """Map a stored company."""
        return cls(
            id=company.id,
            name=company.name,
            domain=company.domain,
            industry=company.industry,
            is_client=is_client,
            created_at=company.created_at,
            updated_at=company.updated_at,
        )


class ConvertRequest(InputModel):
    """Converting a company into a client. ``dm_id``/``squad_id`` may be set by Executives and Heads."""

    status: ClientStatus = ClientStatus.PROSPECT
    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)
