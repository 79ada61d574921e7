"""Response bodies of the attention count."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class AttentionClient(BaseModel):
    """A client that needs attention, and why."""

    client_id: str
    name: str
    qbr_overdue: bool
    low_health: bool
    next_qbr_due_on: date | None
    health_score: int | None


class AttentionRead(BaseModel):
    """The sidebar count: overdue QBRs plus low health among the caller's visible Active clients."""

    count: int
    overdue_qbrs: int
    low_health: int
    clients: list[AttentionClient]
