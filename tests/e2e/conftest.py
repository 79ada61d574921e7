"""The whole system, started as processes for the e2e tests: every service and the gateway, on the
tests' PostgreSQL (one database per service) and NATS. The tests speak HTTP to the gateway and NATS
to the bus, nothing else.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import System, running_system


@pytest.fixture(scope="session")
def system(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The system, started once for the e2e session, on a NATS server of its own."""
    with running_system(postgres_admin_url, tmp_path_factory.mktemp("system"), name="e2e") as system:
        yield system
