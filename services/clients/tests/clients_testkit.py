"""Fixtures of the clients service's tests: the app in-process against real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from litestar.testing import AsyncTestClient

from clientpulse.clients.app import create_app
from clientpulse.clients.settings import ClientsSettings
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity

SECRET = "clients-test-identity-secret-of-enough-length"

EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)
MANAGER_S1 = Identity("u-42", Role.MANAGER, "s-1")
MANAGER_S2 = Identity("u-77", Role.MANAGER, "s-2")
EMPLOYEE = Identity("u-emp", Role.EMPLOYEE, "s-1")


def as_user(identity: Identity) -> dict[str, str]:
    """Headers the gateway would forward for this user."""
    return {IDENTITY_HEADER: sign_identity(identity, SECRET)}


@asynccontextmanager
async def running_clients_service(
    database_url: str, nats_url: str, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """The clients app with its lifespan (migrations, consumers, outbox relay) running."""
    settings = ClientsSettings(
        database_url=database_url,
        nats_url=nats_url,
        identity_secret=SECRET,
        outbox_poll_interval=0.1,
        **overrides,  # type: ignore[arg-type]
    )
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


ClientFactory = Callable[[str, str], AsyncIterator[httpx.AsyncClient]]
