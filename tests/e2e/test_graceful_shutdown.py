"""A SIGTERM-ed process ends its live streams at once with a reconnect hint and exits 0 after draining.

Real processes (the notifications service on SQLite, the gateway in front of it, a NATS of the test's
own), real signals, and a live stream opened directly and through the gateway.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import SecretStr

from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.shutdown import RECONNECT_MILLISECONDS
from clientpulse.shared.tokens import JwtSettings, mint_token

ROOT = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load((ROOT / "deploy" / "helm" / "clientpulse" / "values.yaml").read_text())
# What Kubernetes allows a pod between SIGTERM and SIGKILL once the preStop pause is over.
GRACE_AFTER_PRESTOP = VALUES["terminationGracePeriodSeconds"] - VALUES["preStopSleepSeconds"]
STREAM_PATH = "/api/v1/me/notifications/stream"
FAREWELL = f"retry: {RECONNECT_MILLISECONDS}"


@dataclass
class Processes:
    notifications: subprocess.Popen[bytes]
    gateway: subprocess.Popen[bytes]
    notifications_url: str
    gateway_url: str
    identity_secret: str
    jwt: JwtSettings

    def direct_headers(self, sub: str) -> dict[str, str]:
        identity = Identity(sub, Role.EMPLOYEE, None)
        return {IDENTITY_HEADER: sign_identity(identity, self.identity_secret), "Accept": "text/event-stream"}

    def gateway_headers(self, sub: str) -> dict[str, str]:
        token = mint_token(self.jwt, sub=sub, role=Role.EMPLOYEE)
        return {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}


def _spawn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    executable = Path(sys.executable).parent / command
    return subprocess.Popen([str(executable), "serve"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready:\n{log.read_text()[-3000:]}")


@pytest.fixture
def processes(tmp_path: Path, nats_process: NatsServerProcess) -> Iterator[Processes]:
    identity_secret = secrets.token_urlsafe(32)
    jwt_secret = secrets.token_urlsafe(32)
    notifications_port, gateway_port = free_port(), free_port()
    common = {
        **os.environ,
        "CLIENTPULSE_NATS_URL": nats_process.url,
        "CLIENTPULSE_VAR_DIR": str(tmp_path / "var"),
        "CLIENTPULSE_IDENTITY_SECRET": identity_secret,
        "CLIENTPULSE_JWT_SECRET": jwt_secret,
        "CLIENTPULSE_LOG_JSON": "false",
    }
    notifications_url = f"http://127.0.0.1:{notifications_port}"
    notifications = _spawn(
        "clientpulse-notifications",
        common
        | {
            "CLIENTPULSE_NOTIFICATIONS_PORT": str(notifications_port),
            "CLIENTPULSE_NOTIFICATIONS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}",
        },
        tmp_path / "notifications.log",
    )
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    gateway = _spawn(
        "clientpulse-gateway",
        common
        | {"CLIENTPULSE_GATEWAY_PORT": str(gateway_port), "CLIENTPULSE_GATEWAY_NOTIFICATIONS_URL": notifications_url},
        tmp_path / "gateway.log",
    )
    try:
        _wait_ready(notifications, notifications_url, tmp_path / "notifications.log")
        _wait_ready(gateway, gateway_url, tmp_path / "gateway.log")
        yield Processes(
            notifications,
            gateway,
            notifications_url,
            gateway_url,
            identity_secret,
            JwtSettings(secret=SecretStr(jwt_secret)),
        )
    finally:
        for process in (gateway, notifications):
            if process.poll() is None:
                process.kill()
            process.wait()


class OpenStream:
    """A live stream read on the test's side, up to its first event, then to its end."""

    def __init__(self, client: httpx.Client, url: str, headers: dict[str, str]) -> None:
        self._context = client.stream("GET", url, headers=headers)
        self.response = self._context.__enter__()
        assert self.response.status_code == 200, self.response.read()
        self._chunks = self.response.iter_raw()
        self.opening = next(self._chunks)

    def rest(self) -> bytes:
        try:
            return b"".join(self._chunks)
        finally:
            self._context.__exit__(None, None, None)


def _terminate(process: subprocess.Popen[bytes]) -> float:
    process.send_signal(signal.SIGTERM)
    return time.monotonic()


def test_a_stopping_service_ends_its_streams_with_a_reconnect_hint_and_exits_0(processes: Processes) -> None:
    with httpx.Client(timeout=httpx.Timeout(10.0, read=GRACE_AFTER_PRESTOP)) as client:
        direct = OpenStream(client, f"{processes.notifications_url}{STREAM_PATH}", processes.direct_headers("u-1"))
        relayed = OpenStream(client, f"{processes.gateway_url}{STREAM_PATH}", processes.gateway_headers("u-2"))
        assert b"connected" in direct.opening
        assert b"connected" in relayed.opening

        signalled = _terminate(processes.notifications)
        direct_rest = direct.rest()
        direct_ended = time.monotonic() - signalled
        relayed_rest = relayed.rest()
        relayed_ended = time.monotonic() - signalled
        exit_code = processes.notifications.wait(timeout=GRACE_AFTER_PRESTOP)
        exited = time.monotonic() - signalled

    assert b": shutting down" in direct_rest and FAREWELL.encode() in direct_rest
    # The gateway passes the service's farewell through, so the browser reconnects through it.
    assert b": shutting down" in relayed_rest and FAREWELL.encode() in relayed_rest
    assert exit_code == 0
    print(f"\nnotifications: streams ended {direct_ended:.2f} s / {relayed_ended:.2f} s after SIGTERM", end="")
    print(f", exited {exited:.2f} s after it")
    assert max(direct_ended, relayed_ended) < 5, "the streams held the shutdown"
    assert processes.gateway.poll() is None


def test_a_stopping_gateway_ends_relayed_streams_with_a_reconnect_hint_and_exits_0(processes: Processes) -> None:
    with httpx.Client(timeout=httpx.Timeout(10.0, read=GRACE_AFTER_PRESTOP)) as client:
        relayed = OpenStream(client, f"{processes.gateway_url}{STREAM_PATH}", processes.gateway_headers("u-3"))
        direct = OpenStream(client, f"{processes.notifications_url}{STREAM_PATH}", processes.direct_headers("u-4"))

        signalled = _terminate(processes.gateway)
        relayed_rest = relayed.rest()
        relayed_ended = time.monotonic() - signalled
        exit_code = processes.gateway.wait(timeout=GRACE_AFTER_PRESTOP)
        exited = time.monotonic() - signalled

        assert relayed_rest.endswith(f": shutting down\n{FAREWELL}\n\n".encode())
        assert exit_code == 0
        print(f"\ngateway: relayed stream ended {relayed_ended:.2f} s, exited {exited:.2f} s after SIGTERM")
        assert relayed_ended < 5, "the relayed stream held the shutdown"
        # The service behind the gateway keeps serving its own streams.
        assert processes.notifications.poll() is None
        assert client.get(f"{processes.notifications_url}/healthz").status_code == 200
        direct._context.__exit__(None, None, None)
