"""A service process as an orchestrator sees it: alive before NATS answers, ready once it does, and
stopped promptly by SIGTERM whatever NATS is doing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clientpulse.shared.embedded import NatsServerProcess, free_port

pytestmark = pytest.mark.integration


def wait_status(url: str, status: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == status:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def test_a_service_waits_for_nats_without_blocking_health_or_shutdown(tmp_path: Path, postgres_url: str) -> None:
    nats = NatsServerProcess(tmp_path / "nats")  # not started yet
    port = free_port()
    executable = Path(sys.executable).parent / "clientpulse-clients"
    env = {
        "PATH": str(Path(sys.executable).parent),
        "CLIENTPULSE_NATS_URL": nats.url,
        "CLIENTPULSE_CLIENTS_DATABASE_URL": postgres_url,
        "CLIENTPULSE_CLIENTS_PORT": str(port),
        "CLIENTPULSE_VAR_DIR": str(tmp_path),
        "CLIENTPULSE_DEV_MODE": "true",
    }
    log = tmp_path / "clients.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(executable), "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_status(f"{base}/healthz", 200, 30), "not alive while NATS is away"
        assert httpx.get(f"{base}/readyz").status_code == 503
        # The operator is told what is wrong and what to do.
        assert wait_until_logged(log, "did not answer", 15)

        nats.start()
        assert wait_status(f"{base}/readyz", 200, 30), "not ready after NATS came"

        nats.stop()
        assert wait_status(f"{base}/readyz", 503, 15), "still ready without NATS"

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # A clean drain is a success: the orchestrator must not see the process die of its SIGTERM.
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 25
    finally:
        if process.poll() is None:
            process.kill()
        nats.stop()
    assert "Application shutdown complete" in log.read_text()


def wait_until_logged(log: Path, phrase: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if phrase in log.read_text():
            return True
        time.sleep(0.2)
    return False
