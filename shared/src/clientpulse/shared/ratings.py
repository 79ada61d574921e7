"""When a client's human ratings are stale: one rule for the clients and tiering services."""

from __future__ import annotations

from datetime import datetime, timedelta

# Human ratings older than this are flagged stale in lists and detail.
STALE_AFTER = timedelta(days=90)


def ratings_are_stale(recorded_at: datetime | None, now: datetime) -> bool:
    """Human ratings older than 90 days are stale; a client never rated is not flagged."""
    return recorded_at is not None and now - recorded_at > STALE_AFTER
