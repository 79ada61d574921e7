"""Per-caller rate limits that protect the services from one runaway client.

``TokenBucketLimiter`` counts in this process alone. ``SharedWindowLimiter`` counts in a NATS
key-value bucket every gateway replica shares, so N replicas still allow a caller the configured
limit, not N times it; when NATS does not answer in time it falls back to the token bucket (see
docs/architecture.md, "Rate limits across gateway replicas").
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter

from clientpulse.gateway.errors import describe

BUCKET = "clientpulse_gateway_rate_limits"

FALLBACKS = Counter(
    "clientpulse_gateway_rate_limit_fallback",
    "Requests the gateway rate-limited in this replica alone because the shared count in NATS did not answer",
)

_log = logging.getLogger(__name__)


class TokenBucketLimiter:
    """Token buckets keyed by caller (the JWT ``sub``), held in this process.

    Each caller may send ``burst`` requests at once and ``per_minute`` requests a minute on average.
    The buckets live in process memory, so with N gateway replicas a caller's effective limit is N
    times the configured one: this is the limiter of a single replica, and the fallback of
    ``SharedWindowLimiter`` when NATS does not answer.
    """

    def __init__(
        self,
        *,
        per_minute: int,
        burst: int,
        max_callers: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(burst)
        self.refill_per_second = per_minute / 60.0
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        """How many callers have a bucket."""
        return len(self._buckets)

    def wait_seconds(self, caller: str) -> float:
        """Take a token for ``caller``: 0.0 when the request may go, else seconds until it may."""
        now = self._clock()
        tokens, updated = self._buckets.get(caller, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - updated) * self.refill_per_second)
        if tokens < 1.0:
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.refill_per_second
        if caller not in self._buckets and len(self._buckets) >= self.max_callers:
            self._forget_full_buckets(now)
        self._buckets[caller] = (tokens - 1.0, now)
        return 0.0

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely behaves exactly like a missing one.
        refill_time = self.capacity / self.refill_per_second
        self._buckets = {caller: state for caller, state in self._buckets.items() if now - state[1] < refill_time}


def retry_after_header(wait_seconds: float) -> str:
    """The ``Retry-After`` value (whole seconds, at least 1) for a wait."""
    return str(max(1, math.ceil(wait_seconds)))


class Limiter(Protocol):
    """What the gateway asks before it forwards a request."""

    async def wait_seconds(self, caller: str) -> float:
        """Take a request for ``caller``: 0.0 when it may go, else seconds until it may."""
        ...


class LocalLimiter:
    """The in-process token bucket behind the same interface as the shared limiter."""

    def __init__(self, bucket: TokenBucketLimiter) -> None:
        self.bucket = bucket

    async def wait_seconds(self, caller: str) -> float:
        return self.bucket.wait_seconds(caller)


class KeyValue(Protocol):
    """The part of a NATS key-value bucket the shared limiter uses."""

    async def get(self, key: str) -> Any: ...

    async def create(self, key: str, value: bytes) -> int: ...

    async def update(self, key: str, value: bytes, last: int | None = None) -> int: ...


@dataclass(slots=True)
class _Lease:
    """Requests this replica reserved in the shared count of one window and has not spent yet."""

    window: int
    remaining: int
    # The shared count and its revision as this replica last saw them (0: not known).
    count: int = 0
    revision: int = 0
    # The shared count reached the limit: refuse until the window ends without asking NATS again.
    exhausted: bool = False


class SharedWindowLimiter:
    """At most ``limit`` requests per caller in each ``window_seconds`` window, counted across replicas.

    Windows are aligned to the Unix epoch, so every replica names the same window with the same key
    (``<caller, base64url>.<window number>``). A replica takes requests from the shared count with a
    compare-and-set (create, or update at the revision it last read or wrote), reserving up to ``lease`` at once
    and spending them locally: the shared count is never exceeded (over-admission is impossible),
    and a caller may be refused early by at most ``(lease - 1)`` requests per replica per window,
    the reserved requests other replicas have not spent. ``lease=1`` is exact, one round trip per
    request. Once the shared count is at the limit the refusal is cached until the window ends (a
    count only grows within a window). The bucket's TTL removes old windows.

    When NATS does not answer within ``timeout`` seconds (or the connection fails), the request is
    limited by ``fallback`` (this replica alone), counted in
    ``clientpulse_gateway_rate_limit_fallback_total``, and this replica does not ask NATS again for
    ``retry_seconds``: the gateway fails open to the per-replica limit rather than refusing or
    stalling every request.
    """

    def __init__(
        self,
        bucket: Callable[[], Awaitable[KeyValue]],
        *,
        limit: int,
        window_seconds: float,
        lease: int,
        timeout: float,
        retry_seconds: float,
        fallback: TokenBucketLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.lease = lease
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.fallback = fallback
        self._bucket = bucket
        self._clock = clock
        self._window = -1
        self._leases: dict[str, _Lease] = {}
        self._claims: dict[str, asyncio.Lock] = {}
        self._shared_again_at = 0.0

    async def wait_seconds(self, caller: str) -> float:
        now = self._clock()
        window = int(now // self.window_seconds)
        if window != self._window:
            # Windows are the same for every caller, so every lease of an older one is void.
            self._window = window
            self._leases.clear()
            self._claims.clear()
        window_left = (window + 1) * self.window_seconds - now
        spent = self._spend_lease(caller, window, window_left)
        if spent is not None:
            return spent
        if now < self._shared_again_at:
            return self._limit_locally(caller)
        try:
            return await asyncio.wait_for(self._claim(caller, window, window_left), self.timeout)
        except Exception as exc:  # any NATS failure means: limit in this replica
            self._shared_again_at = now + self.retry_seconds
            _log.warning(
                "the shared rate limit in NATS did not answer (%s); limiting in this replica for %.1f s",
                describe(exc),
                self.retry_seconds,
            )
            return self._limit_locally(caller)

    def _spend_lease(self, caller: str, window: int, window_left: float) -> float | None:
        """The answer from this replica's lease, or None when NATS must be asked."""
        lease = self._leases.get(caller)
        if lease is None or lease.window != window:
            return None
        if lease.remaining > 0:
            lease.remaining -= 1
            return 0.0
        return window_left if lease.exhausted else None

    async def _claim(self, caller: str, window: int, window_left: float) -> float:
        # One claim per caller at a time in this replica: concurrent requests of one caller wait for
        # it and spend its lease, instead of racing each other's compare-and-set.
        claiming = self._claims.setdefault(caller, asyncio.Lock())
        async with claiming:
            spent = self._spend_lease(caller, window, window_left)
            if spent is not None:
                return spent
            granted, count, revision = await self._take(caller, self._leases.get(caller), window)
            if granted == 0:
                self._leases[caller] = _Lease(window, 0, count, revision, exhausted=True)
                return window_left
            self._leases[caller] = _Lease(window, granted - 1, count, revision)
            return 0.0

    def _limit_locally(self, caller: str) -> float:
        FALLBACKS.inc()
        return self.fallback.wait_seconds(caller)

    async def _take(self, caller: str, lease: _Lease | None, window: int) -> tuple[int, int, int]:
        """Reserve up to ``lease`` requests of ``caller`` in ``window``: (granted, count, revision).

        The count and revision this replica wrote last are tried first, so a replica whose caller
        nobody else served since needs one round trip; a conflict reads the key and tries again.
        """
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        kv = await self._bucket()
        key = f"{base64.urlsafe_b64encode(caller.encode()).decode().rstrip('=')}.{window}"
        known: tuple[int, int | None] | None = None
        if lease is not None and lease.window == window and lease.revision:
            known = (lease.count, lease.revision)
        while True:
            if known is None:
                try:
                    entry = await kv.get(key)
                except KeyNotFoundError:
                    known = (0, None)
                else:
                    known = (int(entry.value or b"0"), entry.revision)
            count, revision = known
            if count >= self.limit:
                return 0, count, revision or 0
            take = min(self.lease, self.limit - count)
            value = str(count + take).encode()
            try:
                if revision is None:
                    written = await kv.create(key, value)
                else:
                    written = await kv.update(key, value, last=revision)
            except KeyWrongLastSequenceError:
                known = None  # another replica counted in between: read again
                continue
            return take, count + take, written


class NatsRateLimitBucket:
    """The shared count's key-value bucket, connected on first use and again after a failure."""

    def __init__(self, nats_url: str, *, ttl_seconds: float, connect_timeout: float) -> None:
        self.nats_url = nats_url
        self.ttl_seconds = ttl_seconds
        self.connect_timeout = connect_timeout
        self._connection: Any = None
        self._bucket: KeyValue | None = None
        self._opening: asyncio.Lock | None = None

    async def __call__(self) -> KeyValue:
        if self._bucket is not None and self._connection is not None and not self._connection.is_closed:
            return self._bucket
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._bucket is None or self._connection is None or self._connection.is_closed:
                await self._open()
        assert self._bucket is not None
        return self._bucket

    async def _open(self) -> None:
        import nats
        from nats.js.errors import BucketNotFoundError

        await self.close()
        self._connection = await nats.connect(
            self.nats_url,
            connect_timeout=self.connect_timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
        )
        js = self._connection.jetstream()
        try:
            self._bucket = await js.key_value(BUCKET)
        except BucketNotFoundError:
            self._bucket = await js.create_key_value(
                bucket=BUCKET, history=1, ttl=self.ttl_seconds, description="gateway rate limits per caller and window"
            )

    async def close(self) -> None:
        """Close the NATS connection, if one is open."""
        connection, self._connection, self._bucket = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception:  # closing a broken connection may fail; nothing to keep
                _log.debug("closing the rate limit's NATS connection failed", exc_info=True)
