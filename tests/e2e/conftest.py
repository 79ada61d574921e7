"""The whole system, started as processes for the e2e tests: every service and the gateway, on the
tests' PostgreSQL (one database per service) and NATS. The tests speak HTTP to the gateway and NATS
to the bus, nothing else.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from harness import System

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.servers import create_database, drop_database, own_nats_server
from clientpulse.shared.tokens import JwtSettings


@pytest.fixture(scope="session")
def system(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The system, started once for the e2e session, on a NATS server of its own."""
    var_dir = tmp_path_factory.mktemp("system")
    with own_nats_server(var_dir) as nats_url:
        yield from _system(postgres_admin_url, nats_url, var_dir)


def _system(postgres_admin_url: str, nats_url: str, var_dir: Path) -> Iterator[System]:
    databases = {
        spec.name: create_database(postgres_admin_url, prefix=f"e2e_{spec.name.replace('-', '_')}") for spec in SERVICES
    }
    jwt_secret = secrets.token_urlsafe(32)
    stack = Stack(
        var_dir=var_dir,
        nats_url=nats_url,
        database_urls=databases,
        ports={"sandbox": free_port(), **{spec.name: free_port() for spec in (*SERVICES, GATEWAY)}},
        env={
            "CLIENTPULSE_JWT_SECRET": jwt_secret,
            "CLIENTPULSE_JWT_ISSUER": "clientpulse-e2e",
            "CLIENTPULSE_IDENTITY_SECRET": secrets.token_urlsafe(32),
            "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.2",
        },
    )
    try:
        stack.start(timeout=120)
    except Exception:
        for log in sorted(stack.log_dir.glob("*.log")):
            sys.stderr.write(f"\n==== {log.name}\n{log.read_text()[-3000:]}")
        raise
    try:
        yield System(stack, JwtSettings(secret=SecretStr(jwt_secret), issuer="clientpulse-e2e"))
    finally:
        stack.stop()
        for url in databases.values():
            drop_database(url)
