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
    check_in_overdue: bool = False
    next_check_in_due_on: date | None = None


class AttentionRead(BaseModel):
    """The sidebar count: overdue QBRs, low health and overdue Platinum check-ins among the caller's visible
    Active clients."""

    count: int
    overdue_qbrs: int
    low_health: int
    overdue_check_ins: int
    clients: list[AttentionClient]
