"""Helpers of the platform sandbox's tests: the sandbox as its own process (the ``python -m`` entry point), or
in this process on a clock the test moves; both spoken to over HTTP."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiohttp.test_utils import TestServer

from clientpulse.platform_sandbox.app import create_sandbox_app
from clientpulse.platform_sandbox.process import start_sandbox_process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(port: int, *, google_page_size: int = 7) -> subprocess.Popen[bytes]:
    """The platform sandbox as its own process (small Google Ads pages, so little data paginates)."""
    return start_sandbox_process(port, google_page_size=google_page_size)


class SandboxControl:
    """The ``/_sandbox`` control routes of a sandbox process."""

    def __init__(self, url: str) -> None:
        self.url = url

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/faults").raise_for_status()

    def queue(self, platform: str, account_id: str, *faults: str) -> None:
        httpx.post(
            f"{self.url}/_sandbox/faults", json={"platform": platform, "account_id": account_id, "faults": list(faults)}
        ).raise_for_status()

    def grant(self, platform: str) -> dict[str, str]:
        response = httpx.post(f"{self.url}/_sandbox/grants/{platform}")
        response.raise_for_status()
        return dict(response.json())


class ManualClock:
    """Wall-clock seconds that only move when the test says so."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.current = start

    def __call__(self) -> float:
        return self.current

    def advance(self, *, seconds: float = 0, minutes: float = 0, days: float = 0) -> None:
        self.current += seconds + minutes * 60 + days * 86_400


class InProcessSandbox:
    """A sandbox app served in this process: ``http`` speaks to it, ``clock`` is its wall clock."""

    def __init__(self, http: httpx.AsyncClient, clock: ManualClock) -> None:
        self.http = http
        self.clock = clock

    async def queue(self, platform: str, account_id: str, *faults: str) -> None:
        body = {"platform": platform, "account_id": account_id, "faults": list(faults)}
        (await self.http.post("/_sandbox/faults", json=body)).raise_for_status()

    async def grant(self, platform: str, **params: Any) -> str:
        """A granted access token of the platform."""
        response = await self.http.post(f"/_sandbox/grants/{platform}", params=params)
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def configure(self, platform: str, account_id: str, **profile: Any) -> None:
        body = {"platform": platform, "account_id": account_id, **profile}
        (await self.http.post("/_sandbox/accounts", json=body)).raise_for_status()


@asynccontextmanager
async def in_process_sandbox(*, google_page_size: int = 10_000) -> AsyncIterator[InProcessSandbox]:
    clock = ManualClock()
    server = TestServer(create_sandbox_app(google_page_size=google_page_size, clock=clock))
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10) as http:
            yield InProcessSandbox(http, clock)
    finally:
        await server.close()
