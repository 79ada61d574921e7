"""Quarterly business reviews: the cadence per tier, when the next one is due, logging and correcting a
held QBR, and the daily overdue check (docs/domain-rules.md, "QBRs").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, HistoryEntry, Qbr
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.db.repositories.qbrs import QbrRepository
from clientpulse.clients.domain.history import add_entry, emit
from clientpulse.shared.contracts import derived_event_id, new_event_id
from clientpulse.shared.contracts.events import ClientStatus, QbrLogged, QbrOverdue, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.identity import Identity

# Months between QBRs per effective tier; an unscored client (tier None) uses 12.
QBR_CADENCE_MONTHS: dict[Tier | None, int] = {
    Tier.PLATINUM: 3,
    Tier.CORE: 6,
    Tier.STANDARD: 12,
    Tier.REVIEW: 12,
    None: 12,
}


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the last day of a shorter month (Nov 30 + 3 → Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def qbr_cadence_months(tier: Tier | None) -> int:
    """Months between QBRs for a tier: Platinum 3, Core 6, Standard and Review 12, unscored 12."""
    return QBR_CADENCE_MONTHS[tier]


def qbr_due_date(tier: Tier | None, *, last_qbr_on: date | None, active_since: date | None) -> date | None:
    """When the next QBR is due: the last QBR plus the tier's cadence.

    A client with no QBR yet is due one cadence after it became Active; one never Active has no due date.
    """
    start = last_qbr_on or active_since
    if start is None:
        return None
    return add_months(start, qbr_cadence_months(tier))


def qbr_overdue(status: ClientStatus, due_on: date | None, today: date) -> bool:
    """Only an Active client can be overdue, and only once its due date has passed."""
    return status is ClientStatus.ACTIVE and due_on is not None and today > due_on


def refresh_qbr_due(client: Client) -> None:
    """Recompute the next QBR due date from the client's tier, last QBR and time Active."""
    client.qbr_due_on = qbr_due_date(
        Tier(client.tier) if client.tier else None, last_qbr_on=client.last_qbr_on, active_since=client.active_since
    )


@dataclass(frozen=True, slots=True)
class QbrInput:
    """What a logged QBR says."""

    held_on: date
    internal_attendees: list[str]
    client_attendees: list[str]
    summary: str
    outcomes: list[str]


async def _after_qbr_change(session: AsyncSession, client: Client) -> None:
    client.last_qbr_on = await QbrRepository(session).latest_held_on(client.id)
    refresh_qbr_due(client)


async def log_qbr(session: AsyncSession, identity: Identity, client: Client, fields: QbrInput) -> Qbr:
    """Log a held QBR; the next one falls due one tier cadence later."""
    if fields.held_on > utcnow().date():
        raise Unprocessable("held_on is in the future: log a QBR once it has been held")
    now = utcnow()
    qbr = Qbr(
        id=new_event_id(),
        client_id=client.id,
        held_on=fields.held_on,
        internal_attendees=fields.internal_attendees,
        client_attendees=fields.client_attendees,
        summary=fields.summary,
        outcomes=fields.outcomes,
        logged_by=identity.sub,
        logged_at=now,
        updated_at=now,
    )
    QbrRepository(session).add(qbr)
    await session.flush()
    await _after_qbr_change(session, client)
    assert client.qbr_due_on is not None  # a QBR was just logged
    await emit(
        session,
        QbrLogged(
            client_id=client.id,
            qbr_id=qbr.id,
            held_on=qbr.held_on,
            next_due_on=client.qbr_due_on,
            logged_by=identity.sub,
        ),
        line=f"QBR held on {qbr.held_on.isoformat()} logged; next due {client.qbr_due_on.isoformat()}",
        actor=identity.sub,
    )
    return qbr


async def update_qbr(
    session: AsyncSession, identity: Identity, client: Client, qbr_id: str, changes: dict[str, Any]
) -> Qbr:
    """Correct a logged QBR; a changed date moves the next due date."""
    qbr = await QbrRepository(session).get(client.id, qbr_id)
    if qbr is None:
        raise NotFound(f"QBR {qbr_id} was not found")
    if "held_on" in changes and changes["held_on"] > utcnow().date():
        raise Unprocessable("held_on is in the future: log a QBR once it has been held")
    for key, value in changes.items():
        setattr(qbr, key, value)
    qbr.updated_at = utcnow()
    await session.flush()
    await _after_qbr_change(session, client)
    add_entry(session, client_id=client.id, kind="QbrUpdated", line=f"QBR of {qbr.held_on} edited", actor=identity.sub)
    return qbr


async def report_overdue_qbrs(session: AsyncSession, *, today: date, batch: int = 500) -> int:
    """Publish QbrOverdue once per overdue episode of each Active client (the daily check).

    The event id is derived from the client and the due date, so even a second run racing this one
    is published once; the client remembers the announced due date so it is not recorded again.
    """
    clients = ClientRepository(session)
    reported = 0
    while True:
        found = await clients.overdue_unreported(today=today, limit=batch)
        if not found:
            return reported
        for client in found:
            due_on = client.qbr_due_on
            assert due_on is not None
            event_id = derived_event_id(f"qbr-overdue:{client.id}:{due_on.isoformat()}")
            await clients.mark_overdue_reported(client.id, due_on)
            if await session.get(HistoryEntry, event_id) is not None:
                continue  # a corrected QBR date brought back a due date whose episode was already announced
            days = (today - due_on).days
            await emit(
                session,
                QbrOverdue(
                    client_id=client.id,
                    due_on=due_on,
                    days_overdue=days,
                    last_qbr_on=client.last_qbr_on,
                    dm_id=client.dm_id,
                    squad_id=client.squad_id,
                ),
                line=f"QBR overdue: due {due_on.isoformat()}, {days} days late",
                actor=None,
                event_id=event_id,
            )
            reported += 1
        await session.flush()
