"""What the e2e tests hold on to: the running system, tokens, and clients of the gateway that check every
request and response against the published OpenAPI document (``contract_client``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from contract_client import ContractClient

from clientpulse.shared.devstack import Stack
from clientpulse.shared.identity import Role
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
