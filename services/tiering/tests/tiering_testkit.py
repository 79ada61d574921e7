"""Fixtures and helpers of the tiering service's tests: the app in-process against real PostgreSQL/SQLite and NATS,
and the recalculation metrics as this process sees them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import nats
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus, InvoicePosted
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until
from clientpulse.tiering import metrics
from clientpulse.tiering.app import create_app
from clientpulse.tiering.settings import TieringSettings

SECRET = "tiering-test-identity-secret-of-enough-length"

EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)
HEAD = Identity("u-head", Role.HEAD)
MANAGER_S1 = Identity("u-42", Role.MANAGER, "s-1")
MANAGER_S2 = Identity("u-77", Role.MANAGER, "s-2")
LEAD = Identity("u-lead", Role.LEAD, "s-1")
EMPLOYEE = Identity("u-emp", Role.EMPLOYEE, "s-1")


def as_user(identity: Identity) -> dict[str, str]:
    """Headers the gateway would forward for this user."""
    return {IDENTITY_HEADER: sign_identity(identity, SECRET)}


@asynccontextmanager
async def running_tiering_service(
    database_url: str, nats_url: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The tiering app with its lifespan (migrations, consumers, outbox relay) running."""
    config = TieringSettings(
        database_url=database_url,
        nats_url=nats_url,
        identity_secret=SECRET,
        outbox_poll_interval=0.1,
        **settings,
    )
    async with AsyncTestClient(create_app(config)) as client:
        yield client


async def add_client(
    api: httpx.AsyncClient,
    nats_url: str,
    client_id: str,
    *,
    status: ClientStatus = ClientStatus.ACTIVE,
    dm_id: str = "u-42",
    squad_id: str = "s-1",
    parent_id: str | None = None,
) -> None:
    """Announce a client on the bus as the clients service would, and wait until tiering knows it."""
    created = ClientCreated(
        client_id=client_id,
        name=f"Client {client_id}",
        status=status,
        dm_id=dm_id,
        squad_id=squad_id,
        parent_id=parent_id,
        created_by="u-exec",
    )
    await publish_envelopes(nats_url, [wrap(created, source="clients")])

    async def known() -> bool:
        response = await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))
        return response.status_code == 200

    assert await wait_until(known, within=15)


def invoice(
    invoice_id: str, client_id: str, amount_minor: int, *, currency: str = "EUR", issued_on: date | None = None
) -> Any:
    """An InvoicePosted envelope as billing would publish it."""
    return wrap(
        InvoicePosted(
            invoice_id=invoice_id,
            client_id=client_id,
            issued_on=issued_on or datetime.now(UTC).date(),
            amount_minor=amount_minor,
            currency=currency,
            is_credit_note=amount_minor < 0,
        ),
        source="billing",
    )


async def stream_events(nats_url: str, subject: str, *, settle: float = 1.0, timeout: float = 15.0) -> list[dict]:
    """Every event on a subject so far (an ephemeral consumer from the start), once the stream goes quiet."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        sub = await js.pull_subscribe(subject, durable=None)
        found: list[dict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() < deadline:
            try:
                messages = await sub.fetch(500, timeout=0.3)
            except (nats.errors.TimeoutError, TimeoutError):  # either, depending on where the wait ran out
                if loop.time() - quiet_since >= settle:
                    break
                continue
            for message in messages:
                found.append(json.loads(message.data))
                await message.ack()
            quiet_since = loop.time()
        return found
    finally:
        await connection.close()


def sample(name: str, **labels: str) -> float:
    """The value of a Prometheus sample in this process (0 when never observed)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def runs(outcome: str) -> float:
    """Recalculation runs counted with this outcome."""
    return sample("clientpulse_recalculation_runs_total", outcome=outcome)


def clients(result: str) -> float:
    """Clients counted by recalculations with this result."""
    return sample("clientpulse_recalculation_clients_total", result=result)


def forget_last_completed() -> None:
    """As a freshly started process: the gauge at 0 and nothing remembered in memory."""
    metrics._last_completed = 0.0
    metrics.RECALCULATION_LAST_COMPLETED.set(0)
