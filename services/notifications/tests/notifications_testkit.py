"""What the notifications integration tests share: identities, a webhook receiver, an SMTP mailbox,
publishing events and reading inboxes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web
from aiosmtpd.controller import Controller as SmtpController
from sqlalchemy import select

from clientpulse.notifications.db.models import Notification
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.contracts import Envelope, EventData, new_event_id, wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.messaging import inbox
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

SECRET = "notifications-test-identity-secret-of-enough-length"
HEADS = ("u-head-1", "u-head-2")
EMAIL_USER = "u-mail"
EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)


def as_user(sub: str, role: Role = Role.MANAGER, squad: str | None = "s-1") -> dict[str, str]:
    """Headers the gateway would forward for this user."""
    return {IDENTITY_HEADER: sign_identity(Identity(sub, role, squad), SECRET)}


def unique(prefix: str) -> str:
    """An id no other test uses (the module shares one database and one bus)."""
    return f"{prefix}-{new_event_id()[-12:]}"


@dataclass
class RunningService:
    """The served app, its bus and a handle on its database."""

    url: str
    nats_url: str
    database: Database
    settings: NotificationsSettings

    def http(self, sub: str = "u-42", role: Role = Role.MANAGER, squad: str | None = "s-1") -> httpx.AsyncClient:
        """An HTTP client of the service, as this user."""
        return httpx.AsyncClient(base_url=self.url, headers=as_user(sub, role, squad), timeout=10.0)

    async def publish(self, *events: EventData | Envelope[Any], source: str = "tests") -> list[Envelope[Any]]:
        """Publish events (or ready envelopes) on the bus, in order."""
        envelopes = [e if isinstance(e, Envelope) else wrap(e, source=source) for e in events]
        await publish_envelopes(self.nats_url, envelopes)
        return envelopes

    async def publish_client_created(self, dm_id: str, name: str, squad_id: str = "s-1") -> str:
        """A ClientCreated on the bus; returns the new client's id."""
        client_id = unique("c")
        created = ClientCreated(
            client_id=client_id, name=name, status=ClientStatus.ACTIVE, dm_id=dm_id, squad_id=squad_id, created_by="u-1"
        )
        await self.publish(created, source="clients")
        return client_id

    async def create_client(self, dm_id: str, squad_id: str = "s-1", name: str = "Acme") -> str:
        """A ClientCreated on the bus, waited for until the DM's inbox shows it (the replica is current)."""
        client_id = await self.publish_client_created(dm_id, name, squad_id)
        assert await self.wait_for(dm_id, client_id=client_id, rule="client_assigned"), "ClientCreated not handled"
        return client_id

    async def inbox(self, recipient_id: str, **match: Any) -> list[dict[str, Any]]:
        """The recipient's notifications (through the API) matching every given field."""
        async with self.http(recipient_id) as api:
            response = await api.get("/api/v1/me/notifications", params={"limit": 200})
        assert response.status_code == 200, response.text
        return [n for n in response.json()["items"] if all(n.get(k) == v for k, v in match.items())]

    async def wait_for(self, recipient_id: str, *, within: float = 15.0, **match: Any) -> list[dict[str, Any]]:
        """Wait until the recipient has a notification matching ``match``; returns them."""
        found: list[dict[str, Any]] = []

        async def arrived() -> bool:
            nonlocal found
            found = await self.inbox(recipient_id, **match)
            return bool(found)

        await wait_until(arrived, within=within, interval=0.1)
        return found

    async def handled(self, event_id: str) -> bool:
        """True once a consumer of this service has committed its handling of the event."""
        async with self.database.sessions() as session:
            return bool(await session.scalar(select(inbox.c.event_id).where(inbox.c.event_id == event_id)))

    async def notified_by(self, source_event_id: str) -> list[str]:
        """Who was notified of one source event (straight from the table: nobody else may be)."""
        async with self.database.sessions() as session:
            rows = await session.scalars(select(Notification).where(Notification.source_event_id == source_event_id))
            return sorted(n.recipient_id for n in rows)


@dataclass
class ReceivedRequest:
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


@dataclass
class Receiver:
    """A webhook receiver on loopback: ``/hook/<name>`` answers 200, or 500 while ``failures[name]`` > 0."""

    port: int
    requests: list[ReceivedRequest] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        """The URL of one named hook."""
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def received(self, name: str) -> list[ReceivedRequest]:
        """What one hook received, in order."""
        return [r for r in self.requests if r.path == f"/hook/{name}"]

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.requests.append(
            ReceivedRequest(request.path, dict(request.headers), await request.read(), datetime.now(UTC))
        )
        if self.failures.get(name, 0) != 0:
            self.failures[name] -= 1
            return web.Response(status=500, text="receiver down")
        return web.json_response({"ok": True})

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[Receiver]:
        """Serve a receiver until the block ends."""
        receiver = cls(port=free_port())
        app = web.Application()
        app.router.add_post("/hook/{name}", receiver._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", receiver.port)
        await site.start()
        try:
            yield receiver
        finally:
            await runner.cleanup()


class _Collect:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append({"to": list(envelope.rcpt_tos), "data": envelope.content.decode("utf8", "replace")})
        return "250 OK"


@dataclass
class Mailbox:
    """An SMTP server on loopback (aiosmtpd) keeping every message."""

    port: int
    messages: list[dict[str, Any]]

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Mailbox]:
        """Serve until the block ends."""
        messages: list[dict[str, Any]] = []
        port = free_port()
        controller = SmtpController(_Collect(messages), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            yield cls(port, messages)
        finally:
            controller.stop()


class SseReader:
    """Reads a text/event-stream response: its comment lines and its events."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def first_line(self) -> str:
        """The next raw line."""
        return await anext(self.lines)

    async def events(self, count: int) -> list[dict[str, str]]:
        """The next ``count`` events (comments are kept aside)."""
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        async for line in self.lines:
            if line == "":
                if current.get("data"):
                    events.append(current)
                    if len(events) == count:
                        return events
                current = {}
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                key, _, value = line.partition(":")
                current[key] = value[1:] if value.startswith(" ") else value
        return events


def loads(event: dict[str, str]) -> dict[str, Any]:
    """An SSE event's JSON data."""
    return json.loads(event["data"])


async def settle(seconds: float = 1.0) -> None:
    """Give redeliveries a moment to arrive (used only before asserting that nothing more happened)."""
    await asyncio.sleep(seconds)
