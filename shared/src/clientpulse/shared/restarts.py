"""When a crashed local process is started again, and when to give up: the restart policy of ``make run``.

Pure bookkeeping, no processes: ``ServiceRestarts`` is told when its service started and when it
crashed, reads the time from an injected clock, and answers with a ``RestartDecision``. The delay
doubles with each crash in a row (1, 2, 4 … seconds, capped), starts again at the first delay once the
service has run long enough to count as healthy, and the service is given up on (the whole system
stops) when it crashed too often within a window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Delays and limits of restarting one service."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 60.0
    max_crashes: int = 5
    window: float = 300.0


@dataclass(frozen=True, slots=True)
class RestartDecision:
    """What to do about one crash: restart after ``delay`` seconds, or give up."""

    restart: bool
    delay: float
    crash: int
    max_crashes: int


def restart_delay(crashes_in_a_row: int, policy: RestartPolicy) -> float:
    """The wait before the restart that follows the ``crashes_in_a_row``-th crash in a row (1-based)."""
    return min(policy.first_delay * 2 ** (crashes_in_a_row - 1), policy.max_delay)


@dataclass
class ServiceRestarts:
    """The crash history of one service and the decision after each crash."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    clock: Callable[[], float] = time.monotonic
    _started_at: float | None = None
    _in_a_row: int = 0
    _crashes: deque[float] = field(default_factory=deque)

    def started(self) -> None:
        """The service was (re)started now."""
        self._started_at = self.clock()

    def crashed(self) -> RestartDecision:
        """The service exited unasked now: restart it after a delay, or give up."""
        now = self.clock()
        ran_for = now - self._started_at if self._started_at is not None else 0.0
        self._in_a_row = 1 if ran_for >= self.policy.healthy_after else self._in_a_row + 1
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] >= self.policy.window:
            self._crashes.popleft()
        crash = len(self._crashes)
        if crash >= self.policy.max_crashes:
            return RestartDecision(restart=False, delay=0.0, crash=crash, max_crashes=self.policy.max_crashes)
        return RestartDecision(
            restart=True,
            delay=restart_delay(self._in_a_row, self.policy),
            crash=crash,
            max_crashes=self.policy.max_crashes,
        )
