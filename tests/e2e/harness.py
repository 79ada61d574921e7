"""What the e2e tests hold on to: the running system, tokens, and clients of the gateway that check every
request and response against the published OpenAPI document (``contract_client``)."""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from contract_client import ContractClient
from pydantic import SecretStr

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import Role
from clientpulse.shared.testing.servers import create_database, drop_database, own_nats_server
from clientpulse.shared.tokens import JwtSettings, mint_token

T = TypeVar("T")


@dataclass
class System:
    """A running system and what a test needs to talk to it."""

    stack: Stack
    jwt: JwtSettings

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def web_url(self) -> str:
        """The web console (when the system was started with it)."""
        return self.stack.web_url

    @property
    def nats_url(self) -> str:
        return str(self.stack.nats_url)

    def token(
        self, role: Role, sub: str, squad: str | None = None, *, ttl: int = 3600, now: float | None = None
    ) -> str:
        return mint_token(self.jwt, sub=sub, role=role, squad=squad, ttl_seconds=ttl, now=now)

    def api(self, role: Role, sub: str, squad: str | None = None, *, timeout: float = 10.0) -> ContractClient:
        """An HTTP client of the gateway, authenticated as this user, held to the published document."""
        return ContractClient(
            base_url=self.gateway_url,
            headers={"Authorization": f"Bearer {self.token(role, sub, squad)}"},
            timeout=timeout,
        )

    def anonymous(self) -> ContractClient:
        """An HTTP client of the gateway without a token, held to the published document."""
        return ContractClient(base_url=self.gateway_url, timeout=10.0)


def eventually(check: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.2) -> T:
    """Retry ``check`` until it returns something truthy (events take a moment to cross NATS)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def logs(system: System) -> str:
    """Every process's log, for a failing assertion's message."""
    return "\n".join(
        f"==== {p.name}\n{p.read_text()[-2000:]}" for p in sorted(Path(system.stack.log_dir).glob("*.log"))
    )


@contextlib.contextmanager
def running_system(
    postgres_admin_url: str, var_dir: Path, *, name: str, env: dict[str, str] | None = None, web: bool = False
) -> Iterator[System]:
    """Every service, the sandbox and the gateway as processes, on databases and a NATS server of their own.

    ``name`` prefixes the databases and is the tokens' issuer; ``env`` adds settings to every process;
    ``web`` starts the web console too.
    """
    with own_nats_server(var_dir) as nats_url:
        databases = {
            spec.name: create_database(postgres_admin_url, prefix=f"{name}_{spec.name.replace('-', '_')}")
            for spec in SERVICES
        }
        jwt_secret = secrets.token_urlsafe(32)
        jwt = JwtSettings(secret=SecretStr(jwt_secret), issuer=f"clientpulse-{name}")
        stack = Stack(
            var_dir=var_dir,
            nats_url=nats_url,
            database_urls=databases,
            ports={
                "sandbox": free_port(),
                "web": free_port(),
                **{spec.name: free_port() for spec in (*SERVICES, GATEWAY)},
            },
            env={
                "CLIENTPULSE_JWT_SECRET": jwt_secret,
                "CLIENTPULSE_JWT_ISSUER": jwt.issuer,
                "CLIENTPULSE_IDENTITY_SECRET": secrets.token_urlsafe(32),
                "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.2",
                **(env or {}),
            },
            web=web,
        )
        try:
            stack.start(timeout=120)
        except Exception:
            for log in sorted(stack.log_dir.glob("*.log")):
                sys.stderr.write(f"\n==== {log.name}\n{log.read_text()[-3000:]}")
            raise
        try:
            yield System(stack, jwt)
        finally:
            stack.stop()
            for url in databases.values():
                drop_database(url)
