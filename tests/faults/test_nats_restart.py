"""nats-server stopped (SIGTERM) and started again on the same port and store while client changes stream
through the clients service's HTTP API: changes made during the outage commit to the outbox, and after the
restart every committed change's event reaches a durable consumer exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text

from clientpulse.shared.contracts import Stream
from clientpulse.shared.db import Database
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.testing.servers import create_database, drop_database

pytestmark = pytest.mark.integration

# Changes made before NATS stops, after it has stopped (only the outbox holds their events), after its restart.
CHANGES_PER_PHASE = 100
OBSERVER = "fault-observer"
# After the restart the relay publishes what waited; a consumer that gets nothing new for this long fails.
STALL_LIMIT = 30.0


@dataclass
class ClientsService:
    stack: Stack
    database_url: str
    identity_secret: str

    def headers(self) -> dict[str, str]:
        return {IDENTITY_HEADER: sign_identity(Identity("u-exec", Role.EXECUTIVE), self.identity_secret)}


@pytest.fixture
def clients(postgres_admin_url: str, own_nats: NatsServerProcess, tmp_path: Path) -> Iterator[ClientsService]:
    """Only the clients service, as a process on its own PostgreSQL database and the scenario's NATS."""
    database_url = create_database(postgres_admin_url, prefix="faults_clients")
    identity_secret = secrets.token_urlsafe(32)
    stack = Stack(
        var_dir=tmp_path / "stack",
        nats_url=own_nats.url,
        database_urls={"clients": database_url},
        ports={"clients": free_port()},
        env={"CLIENTPULSE_IDENTITY_SECRET": identity_secret, "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.2"},
    )
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.restart_service("clients", timeout=90)
        yield ClientsService(stack, database_url, identity_secret)
    finally:
        stack.stop()
        drop_database(database_url)


@dataclass
class Observer:
    """A durable consumer of the clients stream that survives the restart: what it was delivered, by event id."""

    nats_url: str
    # event id → the stream sequences it was delivered at (one message per event, however often delivered)
    sequences: dict[str, set[int]] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)
    last_new: float = field(default_factory=time.monotonic)

    async def run(self, stop: asyncio.Event) -> None:
        connection = await nats.connect(self.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        try:
            js = connection.jetstream()
            config = ConsumerConfig(
                durable_name=OBSERVER,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=5,
                filter_subject="clients.>",
            )
            await js.add_consumer(Stream.CLIENTS.value, config)
            sub = await js.pull_subscribe_bind(OBSERVER, Stream.CLIENTS.value)
            while not stop.is_set():
                try:
                    messages = await sub.fetch(100, timeout=0.5)
                except TimeoutError:  # nothing new (nats-py raises its own or asyncio's)
                    continue
                except nats.errors.Error:
                    await asyncio.sleep(0.2)  # NATS is away; the client reconnects by itself
                    continue
                for message in messages:
                    event_id = message.headers["Nats-Msg-Id"] if message.headers else json.loads(message.data)["id"]
                    seqs = self.sequences.setdefault(event_id, set())
                    if not seqs:
                        self.last_new = time.monotonic()
                    seqs.add(message.metadata.sequence.stream)
                    self.deliveries[event_id] += 1
                    with contextlib.suppress(nats.errors.Error):
                        await message.ack()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()


async def committed_event_ids(database_url: str) -> set[str]:
    database = Database(database_url)
    try:
        async with database.transaction(notify=False) as session:
            return {row[0] for row in (await session.execute(text("SELECT event_id FROM outbox"))).all()}
    finally:
        await database.dispose()


async def scenario(service: ClientsService, nats_server: NatsServerProcess) -> dict[str, object]:
    observer = Observer(nats_server.url)
    stop_observing = asyncio.Event()
    observing = asyncio.create_task(observer.run(stop_observing))
    answered = 0
    server_errors = 0
    try:
        async with httpx.AsyncClient(
            base_url=service.stack.service_url("clients"), headers=service.headers(), timeout=10.0
        ) as api:
            company = (await api.post("/api/v1/companies", json={"name": "Restart Ltd"})).json()
            converted = await api.post(f"/api/v1/companies/{company['id']}/convert", json={"status": "Active"})
            assert converted.status_code == 201, converted.text

            health = f"/api/v1/clients/{company['id']}/health"

            async def changes() -> None:
                nonlocal answered, server_errors
                while not enough.is_set():
                    try:
                        response = await api.post(health, json={"score": answered % 101})
                        if response.status_code >= 500:
                            server_errors += 1
                        else:
                            assert response.status_code == 201, response.text
                    except httpx.TransportError:
                        server_errors += 1
                    answered += 1

            async def answered_more(count: int) -> int:
                start = answered
                while answered < start + count:
                    await asyncio.sleep(0.01)
                return answered

            enough = asyncio.Event()
            streaming = asyncio.create_task(changes())
            await answered_more(CHANGES_PER_PHASE)
            await asyncio.to_thread(nats_server.stop)  # SIGTERM: a graceful shutdown of the server
            down_from = answered
            up_from = await answered_more(CHANGES_PER_PHASE)
            await asyncio.to_thread(nats_server.start)  # same port, same store directory
            await answered_more(CHANGES_PER_PHASE)
            enough.set()
            await streaming

        committed = await committed_event_ids(service.database_url)
        while not committed <= set(observer.sequences):
            stalled = time.monotonic() - observer.last_new
            if stalled > STALL_LIMIT:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything published twice after the last event arrived would show up here
    finally:
        stop_observing.set()
        await observing
    return {
        "committed": committed,
        "observer": observer,
        "server_errors": server_errors,
        "changes": answered,
        "while_down": up_from - down_from,
    }


def test_every_committed_change_is_delivered_once_across_a_nats_restart(
    clients: ClientsService, own_nats: NatsServerProcess, fault_figures: Callable[..., None]
) -> None:
    outcome = asyncio.run(scenario(clients, own_nats))
    committed: set[str] = outcome["committed"]  # type: ignore[assignment]
    observer: Observer = outcome["observer"]  # type: ignore[assignment]
    server_errors: int = outcome["server_errors"]  # type: ignore[assignment]
    changes: int = outcome["changes"]  # type: ignore[assignment]
    while_down: int = outcome["while_down"]  # type: ignore[assignment]

    delivered = set(observer.sequences)
    lost = len(committed - delivered)
    # A second copy of an event in the stream (the relay publishing it again past JetStream's duplicate window).
    twice = sum(len(seqs) - 1 for seqs in observer.sequences.values())
    fault_figures(
        f"nats-server SIGTERMed and restarted on its store ({changes} client changes, {while_down} while it was down)",
        sent=len(committed),
        applied=len(committed & delivered),
        lost=lost,
        twice=twice,
        server_errors=server_errors,
    )
    # Setup events (the company converted) plus one HealthScoreRecorded per change.
    assert len(committed) > changes
    assert server_errors == 0, f"{server_errors} changes failed while NATS was away"
    assert lost == 0, f"{lost} committed events never delivered"
    assert twice == 0, f"{twice} events delivered as a second message"
    assert delivered <= committed, "the consumer was delivered events no change committed"
