"""What the clients service does with other contexts' events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.domain import services
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.messaging import EventBus


async def on_deal_won(envelope: Envelope[Any], session: AsyncSession) -> None:
    """A won deal raises a conversion prompt for its company."""
    await services.record_deal_won(session, envelope.data)


def register(bus: EventBus) -> None:
    """Subscribe the clients service's consumers."""
    bus.consumer(DealWon, name="deal-won")(on_deal_won)
