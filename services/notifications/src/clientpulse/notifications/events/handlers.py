"""What the notifications service does with other contexts' events.

Each consumer resolves recipients from the local replica of client assignments, stores one
notification per (source event, recipient) and queues the event for subscribed webhooks, all in the
consumer's unit of work (the inbox makes a redelivery a no-op).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.notifications.db.repositories.qbr_episodes import QbrEpisodeRepository
from clientpulse.notifications.domain import rules
from clientpulse.notifications.domain.inbox import EmailChannel, deliver, enqueue_webhooks
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.client_directory import ClientEntry, apply_client_event, find_client
from clientpulse.shared.contracts import Envelope, new_event_id
from clientpulse.shared.contracts.events import (
    BackfillCompleted,
    BackfillFailed,
    CheckInDue,
    CheckInOverdue,
    ClientAssigned,
    ClientCreated,
    ClientGroupChanged,
    ClientStatusChanged,
    ClientUpdated,
    ConnectionExpiring,
    DealWon,
    HealthScoreRecorded,
    QbrLogged,
    QbrOverdue,
    RecalculationCompleted,
    SeniorDmMissing,
    TierChanged,
)
from clientpulse.shared.db import utcnow
from clientpulse.shared.messaging import EventBus


class ClientNotYetKnown(Exception):
    """The replica has not heard of the client yet (its ClientCreated is still on its way): retry later."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is told what beyond a client's DM: configuration, since no event names Heads or Executives."""

    heads: list[str]
    executives: list[str]
    squad_heads: dict[str, list[str]]
    qbr_escalation_days: int
    email: EmailChannel

    @classmethod
    def of(cls, settings: NotificationsSettings) -> Audience:
        """The audience configured in the settings (email only when SMTP is configured)."""
        return cls(
            heads=list(settings.heads),
            executives=list(settings.executives),
            squad_heads=dict(settings.squad_heads),
            qbr_escalation_days=settings.qbr_escalation_days,
            email=EmailChannel(dict(settings.email_addresses) if settings.smtp_host else {}),
        )


async def known_client(session: AsyncSession, client_id: str) -> ClientEntry:
    """The replica's entry, or a retry when the client's creation has not arrived yet."""
    client = await find_client(session, client_id)
    if client is None:
        raise ClientNotYetKnown(f"client {client_id} is not in the replica yet")
    return client


class Handlers:
    """One typed handler per event type, each telling the audience configured for the service."""

    def __init__(self, audience: Audience) -> None:
        self.audience = audience

    async def tell(self, session: AsyncSession, envelope: Envelope[Any], messages: list[rules.Message]) -> None:
        """Store the notifications (and email them when configured) and queue the event for webhooks."""
        await deliver(session, envelope.id, messages, self.audience.email)
        await enqueue_webhooks(session, envelope)

    async def on_client_created(self, envelope: Envelope[ClientCreated], session: AsyncSession) -> None:
        """Keep the replica; a new client tells its DM."""
        await apply_client_event(envelope, session)
        await self.tell(session, envelope, rules.on_client_created(envelope.data))

    async def on_client_assigned(self, envelope: Envelope[ClientAssigned], session: AsyncSession) -> None:
        """Keep the replica; a new DM hears of the client."""
        await apply_client_event(envelope, session)
        client = await find_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_client_assigned(envelope.data, client))

    async def on_tier_changed(self, envelope: Envelope[TierChanged], session: AsyncSession) -> None:
        """A client's effective tier changed: tell its DM."""
        client = await known_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_tier_changed(envelope.data, client))

    async def on_health_recorded(self, envelope: Envelope[HealthScoreRecorded], session: AsyncSession) -> None:
        """Health entering Red tells the DM."""
        data = envelope.data
        needs_client = rules.enters_red(data.score, data.previous_band)
        client = await (known_client if needs_client else find_client)(session, data.client_id)
        await self.tell(session, envelope, rules.on_health_recorded(data, client))

    async def on_qbr_overdue(self, envelope: Envelope[QbrOverdue], session: AsyncSession) -> None:
        """An overdue QBR tells the DM now and, unless one is held meanwhile, the squad's Heads later."""
        data = envelope.data
        client = await find_client(session, data.client_id)
        await self.tell(session, envelope, rules.on_qbr_overdue(data, client))
        escalate_on = rules.escalation_date(data.due_on, data.days_overdue, self.audience.qbr_escalation_days)
        await QbrEpisodeRepository(session).add_once(
            {
                "id": new_event_id(),
                "client_id": data.client_id,
                "due_on": data.due_on,
                "last_qbr_on": data.last_qbr_on,
                "escalate_on": escalate_on,
                "squad_id": (client.squad_id if client else None) or data.squad_id,
                "source_event_id": envelope.id,
                "created_at": utcnow(),
            }
        )

    async def on_qbr_logged(self, envelope: Envelope[QbrLogged], session: AsyncSession) -> None:
        """A QBR held ends the overdue episode it answers."""
        await QbrEpisodeRepository(session).record_qbr_held(envelope.data.client_id, envelope.data.held_on)

    async def on_check_in_due(self, envelope: Envelope[CheckInDue], session: AsyncSession) -> None:
        """A Platinum client's monthly check-in falls due soon: tell the DM."""
        client = await find_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_check_in_due(envelope.data, client))

    async def on_check_in_overdue(self, envelope: Envelope[CheckInOverdue], session: AsyncSession) -> None:
        """A Platinum client's monthly check-in is past due: tell the DM."""
        client = await find_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_check_in_due(envelope.data, client))

    async def on_senior_dm_missing(self, envelope: Envelope[SeniorDmMissing], session: AsyncSession) -> None:
        """A Platinum client lacks a senior DM: tell the Heads."""
        client = await find_client(session, envelope.data.client_id)
        messages = rules.on_senior_dm_missing(envelope.data, client, self.audience.squad_heads, self.audience.heads)
        await self.tell(session, envelope, messages)

    async def on_deal_won(self, envelope: Envelope[DealWon], session: AsyncSession) -> None:
        """A won deal: the owner (or the Heads) hear of the conversion prompt."""
        await self.tell(session, envelope, rules.on_deal_won(envelope.data, self.audience.heads))

    async def on_backfill_finished(self, envelope: Envelope[Any], session: AsyncSession) -> None:
        """A backfill finished or failed: its requester hears of it."""
        client = await find_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_backfill_finished(envelope.data, client))

    async def on_connection_expiring(self, envelope: Envelope[ConnectionExpiring], session: AsyncSession) -> None:
        """A connection's access ends soon without renewal: the client's DM is asked to reconnect it."""
        client = await known_client(session, envelope.data.client_id)
        await self.tell(session, envelope, rules.on_connection_expiring(envelope.data, client))

    async def on_recalculation_completed(
        self, envelope: Envelope[RecalculationCompleted], session: AsyncSession
    ) -> None:
        """A monthly recalculation ended: Executives hear the counts."""
        await self.tell(session, envelope, rules.on_recalculation_completed(envelope.data, self.audience.executives))


def register(bus: EventBus, settings: NotificationsSettings) -> None:
    """Subscribe the notifications service's consumers."""
    handlers = Handlers(Audience.of(settings))
    # The replica and the rules that read it share one consumer, so they see the stream in order: a
    # ClientAssigned is applied before anything later on the same stream is routed.
    bus.typed_consumer(
        {
            ClientCreated: handlers.on_client_created,
            ClientUpdated: apply_client_event,
            ClientStatusChanged: apply_client_event,
            ClientAssigned: handlers.on_client_assigned,
            ClientGroupChanged: apply_client_event,
            SeniorDmMissing: handlers.on_senior_dm_missing,
        },
        name="client-directory",
        batched=True,
    )
    bus.typed_consumer(
        {
            HealthScoreRecorded: handlers.on_health_recorded,
            QbrOverdue: handlers.on_qbr_overdue,
            QbrLogged: handlers.on_qbr_logged,
            CheckInDue: handlers.on_check_in_due,
            CheckInOverdue: handlers.on_check_in_overdue,
        },
        name="client-health",
        batched=True,
    )
    bus.consumer(TierChanged, name="tier-changed", batched=True)(handlers.on_tier_changed)
    bus.consumer(RecalculationCompleted, name="recalculation-completed")(handlers.on_recalculation_completed)
    bus.consumer(DealWon, name="deal-won")(handlers.on_deal_won)
    bus.typed_consumer(
        {BackfillCompleted: handlers.on_backfill_finished, BackfillFailed: handlers.on_backfill_finished},
        name="backfill-finished",
    )
    bus.consumer(ConnectionExpiring, name="connection-expiring")(handlers.on_connection_expiring)
