"""What the tiering service does with other contexts' events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.messaging import EventBus
from clientpulse.tiering.domain.ledger import post_invoice


async def on_invoice_posted(envelope: Envelope[Any], session: AsyncSession) -> None:
    """An invoice (or credit note) enters the revenue ledger, once per invoice id."""
    await post_invoice(session, envelope)


def register(bus: EventBus) -> None:
    """Subscribe the tiering service's consumers."""
    register_client_directory(bus)
    bus.consumer(InvoicePosted, name="invoice-posted")(on_invoice_posted)
