"""Request and response bodies of conversion prompts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from clientpulse.clients.db.models import ConversionPrompt
from clientpulse.shared.guards import InputModel


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


class PromptAccept(InputModel):
    """Accepting a prompt; Executives and Heads may name the DM and squad."""

    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)


class PromptDismiss(InputModel):
    """Dismissing a prompt, with an optional note."""

    note: str | None = Field(default=None, max_length=2000)
