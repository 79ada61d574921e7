"""Response bodies of the history feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from clientpulse.clients.db.models import HistoryEntry
from clientpulse.clients.domain.history import redacted


class HistoryRead(BaseModel):
    """One entry of a client's history feed."""

    id: str
    occurred_at: datetime
    type: str
    actor: str | None
    source: str
    line: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry, hidden: set[str] | None = None) -> HistoryRead:
        """Map a stored entry, without naming the ``hidden`` clients it mentions."""
        line, details = redacted(entry.kind, entry.line, entry.details, hidden or set())
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at,
            type=entry.kind,
            actor=entry.actor,
            source=entry.source,
            line=line,
            details=details,
        )
