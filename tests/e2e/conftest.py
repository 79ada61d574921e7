"""The whole system, started as processes for the e2e tests: every service and the gateway, on the
tests' PostgreSQL (one database per service) and NATS. The tests speak HTTP to the gateway and NATS
to the bus, nothing else.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import Role
from clientpulse.shared.testing.servers import create_database, delete_all_streams, drop_database
from clientpulse.shared.tokens import JwtSettings, mint_token


@dataclass
class System:
    """A running system and what a test needs to talk to it."""

    stack: Stack
    jwt: JwtSettings

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def nats_url(self) -> str:
        return str(self.stack.nats_url)

    def token(self, role: Role, sub: str, squad: str | None = None, *, ttl: int = 3600, now: float | None = None) -> str:
        return mint_token(self.jwt, sub=sub, role=role, squad=squad, ttl_seconds=ttl, now=now)

    def api(self, role: Role, sub: str, squad: str | None = None) -> httpx.Client:
        """An HTTP client of the gateway, authenticated as this user."""
        return httpx.Client(
            base_url=self.gateway_url,
            headers={"Authorization": f"Bearer {self.token(role, sub, squad)}"},
            timeout=10.0,
        )


@pytest.fixture(scope="session")
def system(
    postgres_admin_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """The system, started once for the e2e session."""
    asyncio.run(delete_all_streams(nats_url))
    databases = {spec.name: create_database(postgres_admin_url, prefix=f"e2e_{spec.name.replace('-', '_')}") for spec in SERVICES}
    jwt_secret = secrets.token_urlsafe(32)
    stack = Stack(
        var_dir=tmp_path_factory.mktemp("system"),
        nats_url=nats_url,
        database_urls=databases,
        ports={spec.name: free_port() for spec in (*SERVICES, GATEWAY)},
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


def logs(system: System) -> str:
    """Every process's log, for a failing assertion's message."""
    return "\n".join(f"==== {p.name}\n{p.read_text()[-2000:]}" for p in sorted(Path(system.stack.log_dir).glob("*.log")))
