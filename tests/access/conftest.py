"""The whole system, started once for the access matrix, and the world its cases act on.

The stack is started as the e2e tests start it (``tests/e2e/harness.py``); the gateway's rate limit is
raised because the matrix sends several hundred requests as a handful of users within a minute.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from harness import System
from world import World, build_world

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.servers import create_database, drop_database, own_nats_server
from clientpulse.shared.tokens import JwtSettings

ISSUER = "clientpulse-access"


@pytest.fixture(scope="session")
def access_system(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The system on a NATS server and databases of its own."""
    var_dir = tmp_path_factory.mktemp("access")
    with own_nats_server(var_dir) as nats_url:
        databases = {
            spec.name: create_database(postgres_admin_url, prefix=f"access_{spec.name.replace('-', '_')}")
            for spec in SERVICES
        }
        jwt_secret = secrets.token_urlsafe(32)
        stack = Stack(
            var_dir=var_dir,
            nats_url=nats_url,
            database_urls=databases,
            ports={"sandbox": free_port(), **{spec.name: free_port() for spec in (*SERVICES, GATEWAY)}},
            env={
                "CLIENTPULSE_JWT_SECRET": jwt_secret,
                "CLIENTPULSE_JWT_ISSUER": ISSUER,
                "CLIENTPULSE_IDENTITY_SECRET": secrets.token_urlsafe(32),
                "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.2",
                "CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
                "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "10000",
                # Webhook targets in the world are on loopback, which is refused unless allowed.
                "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            },
        )
        try:
            stack.start(timeout=120)
        except Exception:
            for log in sorted(stack.log_dir.glob("*.log")):
                sys.stderr.write(f"\n==== {log.name}\n{log.read_text()[-3000:]}")
            raise
        try:
            yield System(stack, JwtSettings(secret=SecretStr(jwt_secret), issuer=ISSUER))
        finally:
            stack.stop()
            for url in databases.values():
                drop_database(url)


@pytest.fixture(scope="session")
def world(access_system: System) -> Iterator[World]:
    """Two squads' clients, a cross-squad group and something of every kind for each route to act on."""
    built = build_world(access_system)
    yield built
    built.close()
