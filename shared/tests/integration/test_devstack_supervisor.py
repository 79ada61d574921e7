"""``make run`` keeps the local system up: a killed service comes back, one that keeps crashing stops it all.

A reduced system (the platform sandbox and the notifications service on SQLite, a NATS server of the
test's own, free ports) supervised exactly as ``clientpulse run`` does.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.restarts import RestartPolicy

pytestmark = pytest.mark.integration


class Supervised:
    """``Stack.supervise`` in a thread, with the lines it reports."""

    def __init__(self, stack: Stack, policy: RestartPolicy | None = None) -> None:
        self.stack = stack
        self.lines: list[str] = []
        self.stopped = threading.Event()
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(policy,), daemon=True)
        self._thread.start()

    def _run(self, policy: RestartPolicy | None) -> None:
        self.code = self.stack.supervise(self.stopped, policy=policy, report=self.lines.append, poll_interval=0.1)

    def wait_line(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}")

    def join(self, timeout: float) -> int | None:
        self._thread.join(timeout)
        return self.code

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(30)


@pytest.fixture
def stack(nats_process: NatsServerProcess, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(
        var_dir=tmp_path / "system",
        nats_url=nats_process.url,
        ports={"sandbox": free_port(), "notifications": free_port()},
    )
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.restart_service("sandbox", timeout=60)
        stack.restart_service("notifications", timeout=90)
        yield stack
    finally:
        stack.stop()


def healthz(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def test_a_killed_service_is_restarted_and_answers_again(stack: Stack) -> None:
    supervised = Supervised(stack)
    try:
        killed = stack.processes["notifications"].pid
        os.kill(killed, signal.SIGKILL)

        line = supervised.wait_line(r"^notifications exited", timeout=10)
        assert line.startswith("notifications exited with code -9 (SIGKILL); restarting in 1 s (crash 1 of 5)")
        supervised.wait_line(r"^notifications restarted", timeout=10)
        assert stack.processes["notifications"].pid != killed
        assert healthz(stack.service_url("notifications"), timeout=90)
        assert stack.processes["sandbox"].poll() is None
        assert supervised.code is None  # still supervising
    finally:
        supervised.stop()
    assert supervised.code == 0


def test_a_service_that_keeps_crashing_stops_the_whole_system(stack: Stack) -> None:
    sandbox = stack.processes["sandbox"]
    # From now on the notifications service cannot start: its settings are invalid.
    stack.env["CLIENTPULSE_NOTIFICATIONS_WEBHOOK_TIMEOUT"] = "not a number"
    supervised = Supervised(stack, RestartPolicy(first_delay=0.1, max_crashes=3))
    try:
        os.kill(stack.processes["notifications"].pid, signal.SIGKILL)
        assert supervised.join(timeout=120) == 1
    finally:
        supervised.stop()

    assert re.match(
        r"notifications exited with code -9 \(SIGKILL\); restarting in 0.1 s \(crash 1 of 3\)", supervised.lines[0]
    )
    assert re.match(r"notifications exited with code 1; restarting in 0.2 s \(crash 2 of 3\)", supervised.lines[2])
    assert re.match(
        r"notifications exited with code 1; it crashed 3 times within 300 s, stopping everything", supervised.lines[-1]
    )
    assert stack.processes == {}
    assert sandbox.poll() is not None
    assert not healthz(stack.sandbox_url, timeout=1)
