"""What the notifications service does with other contexts' events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.domain import rules
from clientpulse.notifications.domain.inbox import deliver
from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import ClientCreated
from clientpulse.shared.messaging import EventBus


async def on_client_created(envelope: Envelope[Any], session: AsyncSession) -> None:
    """A new client: its DM hears of it."""
    await deliver(session, envelope.id, rules.on_client_created(envelope.data))


def register(bus: EventBus) -> None:
    """Subscribe the notifications service's consumers."""
    register_client_directory(bus)
    bus.consumer(ClientCreated, name="client-created")(on_client_created)
