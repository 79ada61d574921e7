"""The whole system, started once for the access matrix, and the world its cases act on.

The stack is started as the e2e tests start it (``tests/e2e/harness.py``); the gateway's rate limit is
raised because the matrix sends several hundred requests as a handful of users within a minute.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from harness import System, running_system
from world import World, build_world


@pytest.fixture(scope="session")
def access_system(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The system on a NATS server and databases of its own."""
    settings = {
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "10000",
        # Webhook targets in the world are on loopback, which is refused unless allowed.
        "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }
    with running_system(postgres_admin_url, tmp_path_factory.mktemp("access"), name="access", env=settings) as system:
        yield system


@pytest.fixture(scope="session")
def world(access_system: System) -> Iterator[World]:
    """Two squads' clients, a cross-squad group and something of every kind for each route to act on."""
    built = build_world(access_system)
    yield built
    built.close()
