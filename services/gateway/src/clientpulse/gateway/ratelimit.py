"""A per-caller token bucket that protects the services from one runaway client."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucketLimiter:
    """Token buckets keyed by caller (the JWT ``sub``), held in this process.

    Each caller may send ``burst`` requests at once and ``per_minute`` requests a minute on average.
    The buckets live in process memory, so with N gateway replicas a caller's effective limit is N
    times the configured one. That is acceptable: this is a protective limit against runaway clients,
    not a quota, and it needs no shared store on the hot path.
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
