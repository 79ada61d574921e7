"""The live stream's fan-out: subscribers wake when a notification may have been committed.

One replica: every unit of work that commits wakes the subscribers of this process at once (the
database's commit listener), and each reads its recipient's new rows from the table. The table, not
the wake-up, is the source of truth: a subscriber also re-reads it every ``poll_interval`` seconds
when nothing woke it, which is how a replica delivers notifications another replica's consumer
committed (N replicas share one durable consumer, so the row may be written anywhere). No broker
fan-out is needed and nothing is lost when a wake-up is missed; the cost is at most one
``poll_interval`` of latency for rows written elsewhere.

Notification ids are UUIDv7 (time-ordered) and assigned before commit, so two transactions may
commit out of id order. A subscriber therefore re-reads a short window (``LOOKBACK``) behind the
newest id it sent and skips ids it already sent, instead of trusting ``id > last`` alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

LOOKBACK = timedelta(seconds=10)


class NotificationFeed:
    """Wakes the stream subscribers of this process after each commit."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._generation = 0
        self._closed = False

    @property
    def generation(self) -> int:
        """How many wake-ups so far; a subscriber notes it *before* reading the table."""
        return self._generation

    def wake(self) -> None:
        """Something was committed: let every waiting subscriber look at the table."""
        self._generation += 1
        self._changed.set()
        # Waiters hold the event they waited on; a fresh one makes the next wait block again.
        self._changed = asyncio.Event()

    def close(self) -> None:
        """The process is stopping: end every stream so the server can shut down promptly."""
        self._closed = True
        self.wake()

    @property
    def closed(self) -> bool:
        """True once the process is stopping."""
        return self._closed

    async def wait(self, seen: int, seconds: float) -> None:
        """Until a commit after generation ``seen``, or ``seconds``, whichever comes first.

        Returns at once when a commit happened since ``seen`` (while the subscriber was reading the
        table or sending), so no wake-up is lost between a read and the next wait.
        """
        if self._generation != seen:
            return
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=seconds)


def uuid7_floor(notification_id: str, lookback: timedelta = LOOKBACK) -> str:
    """The smallest UUIDv7 string minted ``lookback`` before ``notification_id`` (for a range scan)."""
    try:
        millis = uuid.UUID(notification_id).int >> 80
    except ValueError:
        return notification_id
    floor = max(0, millis - int(lookback.total_seconds() * 1000))
    return str(uuid.UUID(int=floor << 80))
