"""What the tiering service does with events: invoices into the ledger, the client replica, and
the monthly recalculation command."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import InvoicePosted, RecalculationRequested
from clientpulse.shared.db import utcnow
from clientpulse.shared.messaging import EventBus
from clientpulse.tiering import metrics
from clientpulse.tiering.domain.ledger import post_invoice, post_invoices
from clientpulse.tiering.domain.recalculation import run_recalculation
from clientpulse.tiering.domain.revenue import RevenueDesk

_log = logging.getLogger("clientpulse.tiering.recalculation")


async def on_invoice_posted(envelope: Envelope[Any], session: AsyncSession) -> None:
    """An invoice (or credit note) enters the revenue ledger, once per invoice id."""
    await post_invoice(session, envelope)


async def on_invoices_posted(envelopes: list[Envelope[Any]], session: AsyncSession) -> None:
    """A batch of invoices enters the ledger in one statement (the effect of ``on_invoice_posted`` on each)."""
    await post_invoices(session, envelopes)


def register(bus: EventBus, desk: RevenueDesk) -> None:
    """Subscribe the tiering service's consumers."""
    register_client_directory(bus)
    bus.consumer(InvoicePosted, name="invoice-posted", batched=True, batch_handler=on_invoices_posted)(
        on_invoice_posted
    )

    async def on_recalculation_requested(envelope: Envelope[Any], session: AsyncSession) -> None:
        """Recalculate every Active client's tier for the period, once per period."""
        request: RecalculationRequested = envelope.data
        observation = metrics.RunObservation(session)
        run = await run_recalculation(
            session,
            period=request.period,
            requested_by=request.requested_by,
            event_id=envelope.id,
            rates=desk.rates,
            now=utcnow(),
            desk=desk,
        )
        observation.finished(run)
        if run is None:
            _log.info("recalculation of %s already ran; nothing to do", request.period)
        else:
            _log.info(
                "recalculated %s: %d clients, %d tier changes, %d never scored, %d failed",
                run.period,
                run.recalculated,
                run.changed,
                run.skipped_never_scored,
                run.failed,
            )

    bus.consumer(RecalculationRequested, name="recalculation")(on_recalculation_requested)
