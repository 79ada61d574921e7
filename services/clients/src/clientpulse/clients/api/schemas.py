"""Request and response bodies of the clients API (separate create / update / read shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clientpulse.clients.db.models import Client, Company, ConversionPrompt
from clientpulse.shared.contracts.events import ClientStatus


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompanyCreate(_Input):
    """A new company record."""

    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)


class CompanyUpdate(_Input):
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


class ConvertRequest(_Input):
    """Converting a company into a client. ``dm_id``/``squad_id`` may be set by Executives and Heads."""

    status: ClientStatus = ClientStatus.PROSPECT
    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)


class ClientRead(BaseModel):
    """A client profile."""

    id: str
    company_id: str
    name: str
    status: ClientStatus
    dm_id: str | None
    squad_id: str | None
    parent_id: str | None
    created_at: datetime
    created_by: str
    status_changed_at: datetime

    @classmethod
    def of(cls, client: Client, company: Company) -> ClientRead:
        """Map a stored client and its company."""
        return cls(
            id=client.id,
            company_id=company.id,
            name=company.name,
            status=ClientStatus(client.status),
            dm_id=client.dm_id,
            squad_id=client.squad_id,
            parent_id=client.parent_id,
            created_at=client.created_at,
            created_by=client.created_by,
            status_changed_at=client.status_changed_at,
        )


class PromptRead(BaseModel):
    """A conversion prompt from a won deal."""

    id: str
    company_id: str
    deal_id: str
    deal_name: str | None
    owner_id: str | None
    amount_minor: int | None
    currency: str | None
    state: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def of(cls, prompt: ConversionPrompt) -> PromptRead:
        """Map a stored prompt."""
        return cls(
            id=prompt.id,
            company_id=prompt.company_id,
            deal_id=prompt.deal_id,
            deal_name=prompt.deal_name,
            owner_id=prompt.owner_id,
            amount_minor=prompt.amount_minor,
            currency=prompt.currency,
            state=prompt.state,
            created_at=prompt.created_at,
            resolved_at=prompt.resolved_at,
            resolved_by=prompt.resolved_by,
        )


class PromptAccept(_Input):
    """Accepting a prompt; Executives and Heads may name the DM and squad."""

    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)


class PromptDismiss(_Input):
    """Dismissing a prompt, with an optional note."""

    note: str | None = Field(default=None, max_length=2000)
