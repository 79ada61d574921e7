"""Fixtures of the results-ingest tests: the platform sandbox as a real process, the app in-process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from clientpulse.platform_sandbox.process import start_sandbox_process
from clientpulse.results_ingest.app import create_app
from clientpulse.results_ingest.connectors.base import (
    Clock,
    ConnectorContext,
    Credentials,
    PlatformConnector,
    RetryPolicy,
)
from clientpulse.results_ingest.pauses import LocalPauses, SharedPauses
from clientpulse.results_ingest.platforms import REGISTRY, ConnectionTarget
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity

SECRET = "results-test-identity-secret-of-enough-length"
EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)
MANAGER_S1 = Identity("u-42", Role.MANAGER, "s-1")
MANAGER_S2 = Identity("u-77", Role.MANAGER, "s-2")
EMPLOYEE = Identity("u-emp", Role.EMPLOYEE, "s-1")
TEST_KEYS = '["dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtLS0=", "dGVzdC1rZXktdHdvLXRoaXJ0eS10d28tYnl0ZXMtLS0="]'


def as_user(identity: Identity) -> dict[str, str]:
    """Headers the gateway would forward for this user."""
    return {IDENTITY_HEADER: sign_identity(identity, SECRET)}


def start_sandbox(port: int, *, google_page_size: int = 7) -> subprocess.Popen[bytes]:
    """The platform sandbox as its own process (small Google Ads pages, so little data paginates)."""
    return start_sandbox_process(port, google_page_size=google_page_size)


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """One sandbox process for the session."""
    port = free_port()
    process = start_sandbox(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[SandboxControl]:
    """The sandbox with no faults queued before and after the test."""
    control = SandboxControl(sandbox_url)
    control.clear()
    yield control
    control.clear()


class SandboxControl:
    """The sandbox's ``/_sandbox`` control routes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/faults").raise_for_status()

    def queue(self, platform: str, account_id: str, *faults: str) -> None:
        httpx.post(
            f"{self.url}/_sandbox/faults", json={"platform": platform, "account_id": account_id, "faults": list(faults)}
        ).raise_for_status()

    def configure(self, platform: str, account_id: str, **profile: Any) -> None:
        httpx.post(
            f"{self.url}/_sandbox/accounts", json={"platform": platform, "account_id": account_id, **profile}
        ).raise_for_status()

    def grant(self, platform: str) -> dict[str, str]:
        response = httpx.post(f"{self.url}/_sandbox/grants/{platform}")
        response.raise_for_status()
        return dict(response.json())

    def requests(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.url}/_sandbox/requests").json())


class VirtualClock(Clock):
    """A clock whose sleeps return at once and move its time on: a platform's hour-long wait takes no time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)

    def real_seconds(self, seconds: float) -> float:
        return 0.0

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def platform_connector(
    platform: str,
    settings: ResultsSettings,
    http: httpx.AsyncClient,
    credentials: Credentials,
    account_id: str,
    *,
    options: dict[str, str] | None = None,
    clock: Clock | None = None,
    pauses: SharedPauses | None = None,
    attempts: int = 10,
    max_wait: float = 30.0,
    refreshed: list[Credentials] | None = None,
) -> tuple[PlatformConnector, ConnectorContext]:
    """A platform's connector built through the registry, as sync and backfill build it."""

    async def keep(renewed: Credentials) -> None:
        if refreshed is not None:
            refreshed.append(renewed)

    spec = REGISTRY.get(platform)
    ctx = ConnectorContext(
        http=http,
        credentials=credentials,
        policy=RetryPolicy(attempts=attempts, base_wait=0.01, max_wait=max_wait),
        on_refresh=keep,
        clock=clock or VirtualClock(),
        pauses=pauses or LocalPauses(),
    )
    target = ConnectionTarget(account_id, options or {})
    return spec.build_connector(ctx, settings.platform_settings(spec), target), ctx


async def run_sync(
    settings: ResultsSettings, database: Any, *, clock: Clock | None = None, pauses: SharedPauses | None = None
) -> Any:
    """One sync of every connection, as the ``sync`` command runs it."""
    from clientpulse.results_ingest.domain.ingest import Runtime
    from clientpulse.results_ingest.domain.sync import sync_all
    from clientpulse.results_ingest.secrets_vault import SecretBox

    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    async with httpx.AsyncClient(timeout=10) as http:
        runtime = Runtime(settings, box, http, clock=clock or Clock(), pauses=pauses or LocalPauses())
        return await sync_all(runtime, database, progress=False)


def settings_for(sandbox_url: str, **overrides: Any) -> ResultsSettings:
    """Settings pointing every platform at the sandbox, with quick retries."""
    values: dict[str, Any] = {
        "identity_secret": SECRET,
        "encryption_keys": TEST_KEYS,
        "outbox_poll_interval": 0.1,
        "sandbox_url": sandbox_url,
        "retry_base_wait": 0.01,
        "max_retry_wait": 5.0,
    }
    values.update(overrides)
    return ResultsSettings(**values)


@asynccontextmanager
async def running_service(
    database_url: str, nats_url: str, sandbox_url: str, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The results-ingest app with its lifespan (migrations, consumers, outbox relay) running."""
    settings = settings_for(sandbox_url, database_url=database_url, nats_url=nats_url, **overrides)
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app) as client:
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client


async def seed_client(database_url: str, client_id: str, *, dm_id: str = "u-42", squad_id: str = "s-1") -> None:
    """Put a client in the service's replica, as its ClientCreated event would."""
    from clientpulse.shared.client_directory import apply_client_event
    from clientpulse.shared.db import Database

    database = Database(database_url)
    try:
        event = ClientCreated(
            client_id=client_id,
            name=f"Client {client_id}",
            status=ClientStatus.ACTIVE,
            dm_id=dm_id,
            squad_id=squad_id,
            created_by="u-exec",
        )
        async with database.transaction() as session:
            await apply_client_event(wrap(event, source="clients", time=datetime.now(UTC)), session)
    finally:
        await database.dispose()


os.environ.setdefault("CLIENTPULSE_LOG_JSON", "false")


@pytest.fixture(scope="module")
def results_database(postgres_admin_url: str) -> Iterator[str]:
    """One PostgreSQL database for a test module's shared app."""
    from clientpulse.shared.testing.servers import create_database, drop_database

    url = create_database(postgres_admin_url, prefix="results_test")
    yield url
    drop_database(url)


def metric_lines(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric line of a ``/results/metrics`` answer, whatever its category."""
    return [line for category in body["categories"] for line in category["metrics"]]
