"""Processes for the console's tests: the OIDC provider, the gateway and the console, each on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from clientpulse.shared.embedded import free_port

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run one process until the block ends."""
    with open(log, "ab") as out:
        child = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(ready_url, child, log)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def oidc_provider(users: list[dict[str, str]], logs: Path) -> Iterator[str]:
    """The OIDC provider process; yields its issuer URL."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(HERE / "oidc_provider.py"), str(port), json.dumps(users)]
    with process(command, {}, f"{issuer}/.well-known/openid-configuration", logs / "oidc.log"):
        yield issuer


@contextlib.contextmanager
def gateway_trusting(issuer: str, audience: str, logs: Path) -> Iterator[str]:
    """A gateway that accepts RS256 tokens signed with the provider's keys (its JWKS URL)."""
    port = free_port()
    env = {
        "CLIENTPULSE_GATEWAY_PORT": str(port),
        "CLIENTPULSE_JWT_ALGORITHMS": '["RS256"]',
        "CLIENTPULSE_JWT_JWKS_URL": f"{issuer}/jwks",
        "CLIENTPULSE_JWT_ISSUER": issuer,
        "CLIENTPULSE_JWT_AUDIENCE": audience,
        "CLIENTPULSE_LOG_JSON": "false",
    }
    url = f"http://127.0.0.1:{port}"
    with process([str(BIN / "clientpulse-gateway"), "serve"], env, f"{url}/healthz", logs / "gateway.log"):
        yield url


@contextlib.contextmanager
def console(gateway_url: str, logs: Path, **settings: str) -> Iterator[str]:
    """The web console process; ``settings`` are ``CLIENTPULSE_WEB_*`` values (lower-case names)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "CLIENTPULSE_WEB_PORT": str(port),
        "CLIENTPULSE_WEB_GATEWAY_URL": gateway_url,
        "CLIENTPULSE_WEB_PUBLIC_URL": url,
        "CLIENTPULSE_LOG_JSON": "false",
        **{f"CLIENTPULSE_WEB_{key.upper()}": value for key, value in settings.items()},
    }
    with process([str(BIN / "clientpulse-web"), "serve"], env, f"{url}/healthz", logs / "web.log"):
        yield url
