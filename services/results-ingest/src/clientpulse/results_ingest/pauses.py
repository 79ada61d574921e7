"""Pauses every worker honours: a platform that limits the whole app stops every call of every replica.

A pause has a scope (``meta_ads.app`` for Meta's application-wide limit, ``meta_ads.account.<id>``
for one ad account's business-use-case limit) and an end time. In a running service the pauses
live in a NATS key-value bucket, so each replica, the sync CronJob and every backfill worker see
the same one; a process without NATS (unit tests) keeps them in memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

_log = logging.getLogger("clientpulse.results_ingest.pauses")

BUCKET = "clientpulse_platform_pauses"
# A pause is read at most this often from the bucket by one process (a platform call is far slower).
CACHE_SECONDS = 1.0


class SharedPauses(Protocol):
    """Where pauses are kept."""

    async def until(self, scope: str) -> datetime | None:
        """The end of the pause on ``scope``, if one was set (it may have passed)."""
        ...

    async def pause(self, scope: str, until: datetime, reason: str) -> None:
        """Pause ``scope`` until ``until`` (a later pause already set is kept)."""
        ...


class LocalPauses:
    """Pauses of this process only."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    async def until(self, scope: str) -> datetime | None:
        return self._until.get(scope)

    async def pause(self, scope: str, until: datetime, reason: str) -> None:
        current = self._until.get(scope)
        if current is None or until > current:
            self._until[scope] = until
            _log.warning("pausing %s until %s: %s", scope, until.isoformat(), reason)


class NatsPauses:
    """Pauses in a JetStream key-value bucket shared by every process of the service."""

    def __init__(self, connection: Callable[[], Any]) -> None:
        # The NATS connection is asked for when first needed (the service connects in its lifespan).
        self._connection = connection
        self._bucket: Any = None
        self._cache: dict[str, tuple[float, datetime | None]] = {}

    async def _kv(self) -> Any:
        if self._bucket is None:
            js = self._connection().jetstream()
            try:
                self._bucket = await js.key_value(BUCKET)
            except Exception:  # not created yet: the first process creates it
                self._bucket = await js.create_key_value(bucket=BUCKET, history=1, description="platform pauses")
        return self._bucket

    async def until(self, scope: str) -> datetime | None:
        cached = self._cache.get(scope)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        from nats.js.errors import KeyNotFoundError

        kv = await self._kv()
        try:
            entry = await kv.get(scope)
            value = datetime.fromisoformat(entry.value.decode()) if entry.value else None
        except KeyNotFoundError:
            value = None
        self._cache[scope] = (time.monotonic(), value)
        return value

    async def pause(self, scope: str, until: datetime, reason: str) -> None:
        self._cache.pop(scope, None)
        current = await self.until(scope)
        if current is not None and current >= until:
            return
        kv = await self._kv()
        await kv.put(scope, until.astimezone(UTC).isoformat().encode())
        self._cache[scope] = (time.monotonic(), until)
        _log.warning("pausing %s until %s for every worker: %s", scope, until.isoformat(), reason)
