"""Recharge's leaky bucket, kept from our side so a read slows down before Recharge refuses it.

Recharge gives each API token a bucket of requests (40) that leaks at a steady rate (2 per second);
a request that finds it full is refused with HTTP 429. Each answer's ``X-Recharge-Limit`` header
(``used/size``) says how full the bucket is, other programs using the same token included; without
it, our own requests are counted.
"""

from __future__ import annotations

from datetime import datetime

from clientpulse.results_ingest.connectors.base import Clock


class LeakyBucket:
    """How full one token's bucket is, and how long to wait before the next request.

    ``headroom`` requests are always left free, for other programs sharing the token.
    """

    def __init__(self, clock: Clock, *, size: int, leak_per_second: float, headroom: int = 4) -> None:
        self.clock = clock
        self.size = size
        self.leak_per_second = leak_per_second
        self.headroom = headroom
        self.level = 0.0
        self.seen: datetime | None = None

    def _drain(self) -> None:
        now = self.clock.now()
        if self.seen is not None:
            elapsed = max(0.0, (now - self.seen).total_seconds())
            self.level = max(0.0, self.level - elapsed * self.leak_per_second)
        self.seen = now

    def wait_before_request(self) -> float:
        """Seconds to wait so that the next request finds room in the bucket (0: send now)."""
        self._drain()
        over = self.level + 1 - (self.size - self.headroom)
        return over / self.leak_per_second if over > 0 else 0.0

    def sent(self) -> None:
        """A request went out: it fills the bucket by one."""
        self._drain()
        self.level += 1

    def observe(self, header: str | None) -> None:
        """Recharge's ``X-Recharge-Limit`` (``used/size``): the bucket as Recharge counts it."""
        used, _, size = (header or "").partition("/")
        try:
            level, capacity = float(used), int(size)
        except ValueError:
            return
        self._drain()
        self.level = level
        if capacity > 0:
            self.size = capacity
