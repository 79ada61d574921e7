"""The delivery worker on the embedded SQLite database (no row locks there): a queued delivery reaches a
receiver on loopback, signed, and its attempt is logged."""

from __future__ import annotations

import ipaddress
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from notifications_testkit import Receiver

from clientpulse.notifications.app import MIGRATIONS
from clientpulse.notifications.db.models import Webhook
from clientpulse.notifications.db.repositories.webhooks import WebhookRepository
from clientpulse.notifications.delivery import DeliveryWorker
from clientpulse.notifications.domain.inbox import enqueue_webhooks
from clientpulse.notifications.domain.webhooks import SIGNATURE_HEADER, IPAddress, seal_secret, verify_signature
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import BackfillCompleted
from clientpulse.shared.db import Database, migrate, utcnow
from clientpulse.shared.testing.waiting import wait_until


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
    await migrate(MIGRATIONS, url)
    database = Database(url)
    yield database
    await database.dispose()


async def test_a_queued_delivery_is_sent_signed_and_logged_on_sqlite(database: Database) -> None:
    settings = NotificationsSettings(
        database_url=database.url, webhook_allowed_networks=["127.0.0.0/8"], webhook_require_https=False
    )
    key = settings.webhook_secrets_key.get_secret_value()
    async with Receiver.running() as receiver:
        async with database.transaction() as session:
            await WebhookRepository(session).add(
                Webhook(
                    id="w-1",
                    url=receiver.url("sqlite"),
                    event_types=["BackfillCompleted"],
                    secret=seal_secret(key, "whsec_sqlite"),
                    created_by="u-exec",
                    created_at=utcnow(),
                    active=True,
                    consecutive_failures=0,
                )
            )
            event = BackfillCompleted(backfill_id="b-1", client_id="c-1", days=30, rows_written=9, requested_by="u-5")
            assert await enqueue_webhooks(session, wrap(event, source="results")) == 1
            assert await enqueue_webhooks(session, wrap(event, source="results", event_id="other")) == 1
        worker = DeliveryWorker(database, settings)
        worker.start()
        try:
            assert await wait_until(lambda: _received(receiver, 2), within=10)
        finally:
            await worker.stop()
    received = receiver.received("sqlite")
    assert len(received) == 2  # each once
    assert all(
        verify_signature("whsec_sqlite", r.headers[SIGNATURE_HEADER], r.body, now=int(time.time())) for r in received
    )
    async with database.transaction() as session:
        repository = WebhookRepository(session)
        deliveries = await repository.deliveries("w-1", before_id=None, limit=10)
        attempts = await repository.attempts_of([d.id for d in deliveries])
    assert {d.status for d in deliveries} == {"delivered"}
    assert [len(attempts[d.id]) for d in deliveries] == [1, 1]


async def _received(receiver: Receiver, count: int) -> bool:
    return len(receiver.received("sqlite")) >= count


async def test_the_worker_calls_a_named_target_at_the_address_it_checked(database: Database) -> None:
    settings = NotificationsSettings(
        database_url=database.url, webhook_allowed_networks=["127.0.0.0/8"], webhook_require_https=False
    )
    resolutions: list[str] = []

    async def rebinding(host: str, _port: int) -> list[IPAddress]:
        # Checked once per attempt: the first answer is the receiver, any later one a forbidden address.
        resolutions.append(host)
        return [ipaddress.ip_address("127.0.0.1" if len(resolutions) == 1 else "169.254.169.254")]

    async with Receiver.running() as receiver:
        async with database.transaction() as session:
            await WebhookRepository(session).add(
                Webhook(
                    id="w-named",
                    url=f"http://hooks.rebind.test:{receiver.port}/hook/named",
                    event_types=["BackfillCompleted"],
                    secret=seal_secret(settings.webhook_secrets_key.get_secret_value(), "whsec_named"),
                    created_by="u-exec",
                    created_at=utcnow(),
                    active=True,
                    consecutive_failures=0,
                )
            )
            event = BackfillCompleted(backfill_id="b-2", client_id="c-1", days=30, rows_written=9, requested_by="u-5")
            assert await enqueue_webhooks(session, wrap(event, source="results")) == 1
        worker = DeliveryWorker(database, settings, resolver=rebinding)
        worker.start()
        try:
            assert await wait_until(lambda: _received_named(receiver), within=10)
        finally:
            await worker.stop()
    [received] = receiver.received("named")
    assert received.headers["Host"] == f"hooks.rebind.test:{receiver.port}"
    assert resolutions == ["hooks.rebind.test"]


async def _received_named(receiver: Receiver) -> bool:
    return len(receiver.received("named")) == 1
