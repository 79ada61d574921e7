"""The pytest plugin (``pytest_plugins = ["clientpulse.shared.testing.plugin"]``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.testing.servers import (
    create_database,
    delete_all_streams,
    drop_database,
    nats_server,
    postgres_server,
)

# Test processes, and the services they start, run in the development mode: the built-in development
# secrets are allowed (tests/security starts services outside it on purpose).
os.environ.setdefault("CLIENTPULSE_DEV_MODE", "true")
# A test run starts many whole systems on one PostgreSQL (several stay up at once): small pools keep
# them all under the server's max_connections.
os.environ.setdefault("CLIENTPULSE_DATABASE_POOL_SIZE", "5")


@contextlib.contextmanager
def _server_folder(kind: str) -> Iterator[Path]:
    # Outside pytest's numbered temp folders: another pytest session on the machine prunes those,
    # and would delete a running server's data and socket from under it.
    folder = Path(tempfile.mkdtemp(prefix=f"clientpulse-test-{kind}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A NATS server with JetStream for the session (shared: see ``clean_nats``)."""
    with _server_folder("nats") as folder, nats_server(folder) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session; tests get their own database from ``database_url``."""
    with _server_folder("postgres") as folder, postgres_server(folder) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = create_database(postgres_admin_url)
    yield url
    drop_database(url)


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test, on PostgreSQL and again on SQLite (the embedded default)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = create_database(request.getfixturevalue("postgres_admin_url"))
    yield url
    drop_database(url)


@pytest.fixture
async def clean_nats(nats_url: str) -> str:
    """The session's NATS with every stream deleted first, so the test starts from an empty bus."""
    await delete_all_streams(nats_url)
    return nats_url


@pytest.fixture
def nats_process(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A NATS server of this test's own, which the test may stop and start again (data kept)."""
    server = NatsServerProcess(tmp_path / "nats").start()
    yield server
    server.stop()
