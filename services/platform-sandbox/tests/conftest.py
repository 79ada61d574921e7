"""Fixtures of the platform sandbox's tests; the helpers live in ``sandbox_testkit`` (a name no other tests share)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_testkit import InProcessSandbox, SandboxControl, free_port, in_process_sandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """One sandbox process for the session, started as ``python -m clientpulse.platform_sandbox``."""
    port = free_port()
    process = start_sandbox(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[SandboxControl]:
    """The sandbox process with no faults queued before and after the test."""
    control = SandboxControl(sandbox_url)
    control.clear()
    yield control
    control.clear()


@pytest.fixture
async def live() -> AsyncIterator[InProcessSandbox]:
    """A fresh sandbox in this process, on a clock the test moves."""
    async with in_process_sandbox() as running:
        yield running
