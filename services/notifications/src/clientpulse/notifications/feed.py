"""The live stream's fan-out: subscribers wake when a notification may have been committed.

One replica: every unit of work that commits wakes the subscribers of this process at once (the
database's commit listener), and each reads its recipient's new rows from the table. The table, not
the wake-up, is the source of truth: a subscriber also re-reads it every ``poll_interval`` seconds
when nothing woke it, which is how a replica delivers notifications another replica's consumer
committed (N replicas share one durable consumer, so the row may be written anywhere). No broker
fan-out is needed and nothing is lost when a wake-up is missed; the cost is at most one
``poll_interval`` of latency for rows written elsewhere.

Notification ids are UUIDv7 (time-ordered) and assigned before commit, so two transactions may
commit out of id order. A subscriber therefore reads what is newer than the newest id it sent at each
wake-up, and once every ``poll_interval`` also looks back a short window (``LOOKBACK``) for ids it has
not sent (``SentWindow``): a row that committed late reaches the stream within one ``poll_interval``,
and a busy recipient (hundreds of notifications within the window) costs each wake-up only its new rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
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


class SentWindow:
    """What one stream has sent: the newest id, and every id within ``LOOKBACK`` of it."""

    def __init__(self, resume_after: str) -> None:
        self.resume_after = resume_after
        self.newest: str | None = None
        self._sent: set[str] = set()

    @property
    def after(self) -> str:
        """Rows above this id are new to the stream."""
        return self.newest if self.newest is not None else self.resume_after

    @property
    def floor(self) -> str:
        """The look back starts above this id."""
        return self.resume_after if self.newest is None else max(self.resume_after, uuid7_floor(self.newest))

    def unsent(self, ids: Iterable[str]) -> list[str]:
        """Those of ``ids`` not sent yet."""
        return [notification_id for notification_id in ids if notification_id not in self._sent]

    def sent(self, notification_id: str) -> None:
        """Note one id as sent (and forget those that fell out of the window)."""
        self._sent.add(notification_id)
        if self.newest is None or notification_id > self.newest:
            self.newest = notification_id
            if len(self._sent) > 1024:
                floor = self.floor
                self._sent = {sent for sent in self._sent if sent > floor}
