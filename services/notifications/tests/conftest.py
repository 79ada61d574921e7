"""Fixtures of the notifications service's integration tests: the app served by uvicorn on a free port
against real PostgreSQL and NATS, a webhook receiver and an SMTP server on loopback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn

sys.path.insert(0, str(Path(__file__).parent))

from notifications_testkit import (
    EMAIL_USER,
    HEADS,
    SECRET,
    Mailbox,
    Receiver,
    RunningService,
)

from clientpulse.notifications.app import create_app
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.servers import create_database, drop_database


@pytest.fixture(scope="module")
def notifications_database(postgres_admin_url: str) -> Iterator[str]:
    """One PostgreSQL database for a test module's shared app."""
    url = create_database(postgres_admin_url, prefix="notifications_test")
    yield url
    drop_database(url)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback that records every request."""
    async with Receiver.running() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mailbox() -> AsyncIterator[Mailbox]:
    """An SMTP server on loopback that keeps what it receives."""
    with Mailbox.running() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(notifications_database: str, nats_url: str, mailbox: Mailbox) -> AsyncIterator[RunningService]:
    """The notifications app with its lifespan (migrations, consumers, delivery worker), served over HTTP."""
    settings = NotificationsSettings(
        database_url=notifications_database,
        nats_url=nats_url,
        identity_secret=SECRET,
        outbox_poll_interval=0.1,
        consumer_backoff=[0.2, 0.5, 1.0, 2.0, 5.0],
        consumer_max_deliver=10,
        squad_heads={"s-1": [HEADS[0]]},
        heads=list(HEADS),
        executives=["u-exec", "u-exec-2"],
        # Long on purpose: a stream that delivers within seconds was woken by the commit, not by polling.
        stream_poll_interval=30.0,
        stream_heartbeat_interval=30.0,
        webhook_allowed_networks=["127.0.0.0/8", "::1/128"],
        webhook_require_https=False,
        webhook_retry_delays=[0.2, 0.4],
        webhook_max_attempts=5,
        webhook_disable_after=3,
        webhook_poll_interval=0.1,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        email_addresses={EMAIL_USER: "dana@agency.test"},
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    database = Database(notifications_database)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", nats_url, database, settings)
    finally:
        await database.dispose()
        server.should_exit = True
        await serving
