"""Monthly check-ins, the Platinum tier's service (docs/domain-rules.md, "Tier service approach"): when the
next one is due, logging a held one, and the daily check that announces due and overdue check-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import CheckIn, Client, HistoryEntry
from clientpulse.clients.db.repositories.check_ins import CheckInRepository
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.history import emit
from clientpulse.clients.domain.qbrs import add_months
from clientpulse.shared.contracts import derived_event_id, new_event_id
from clientpulse.shared.contracts.events import CheckInDue, CheckInLogged, CheckInOverdue, ClientStatus, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.identity import Identity

CHECK_IN_CADENCE_MONTHS = 1


def check_in_due_date(tier: Tier | None, *, last_check_in_on: date | None, platinum_since: date | None) -> date | None:
    """When a client's next monthly check-in is due: a month after the later of its last check-in and the
    day it became Platinum. Only Platinum clients have check-ins due."""
    if tier is not Tier.PLATINUM:
        return None
    starts = [day for day in (last_check_in_on, platinum_since) if day is not None]
    if not starts:
        return None
    return add_months(max(starts), CHECK_IN_CADENCE_MONTHS)


def check_in_overdue(status: ClientStatus, tier: Tier | None, due_on: date | None, today: date) -> bool:
    """Only an Active Platinum client can be overdue, and only once its due date has passed."""
    return status is ClientStatus.ACTIVE and tier is Tier.PLATINUM and due_on is not None and today > due_on


def check_in_reminder_due(due_on: date, today: date, reminder_days: int) -> bool:
    """Whether to remind the DM now: the due date is at most ``reminder_days`` away and not yet past."""
    return due_on - timedelta(days=reminder_days) <= today <= due_on


def refresh_check_in_due(client: Client) -> None:
    """Recompute the next check-in due date from the client's tier, last check-in and time Platinum."""
    client.check_in_due_on = check_in_due_date(
        Tier(client.tier) if client.tier else None,
        last_check_in_on=client.last_check_in_on,
        platinum_since=client.platinum_since,
    )


@dataclass(frozen=True, slots=True)
class CheckInInput:
    """What a logged check-in says."""

    held_on: date
    held_by: str
    notes: str


async def log_check_in(session: AsyncSession, identity: Identity, client: Client, fields: CheckInInput) -> CheckIn:
    """Log a held check-in; a Platinum client's next one falls due a month later."""
    if fields.held_on > utcnow().date():
        raise Unprocessable("held_on is in the future: log a check-in once it has been held")
    check_in = CheckIn(
        id=new_event_id(),
        client_id=client.id,
        held_on=fields.held_on,
        held_by=fields.held_by,
        notes=fields.notes,
        logged_by=identity.sub,
        logged_at=utcnow(),
    )
    CheckInRepository(session).add(check_in)
    await session.flush()
    client.last_check_in_on = await CheckInRepository(session).latest_held_on(client.id)
    refresh_check_in_due(client)
    next_due = f"; next due {client.check_in_due_on.isoformat()}" if client.check_in_due_on else ""
    await emit(
        session,
        CheckInLogged(
            client_id=client.id,
            check_in_id=check_in.id,
            held_on=check_in.held_on,
            held_by=check_in.held_by,
            next_due_on=client.check_in_due_on,
            logged_by=identity.sub,
        ),
        line=f"Check-in held on {check_in.held_on.isoformat()} by {check_in.held_by} logged{next_due}",
        actor=identity.sub,
    )
    return check_in


@dataclass(slots=True)
class CheckInReport:
    """What one daily check announced."""

    due: int = 0
    overdue: int = 0


async def report_check_ins(
    session: AsyncSession, *, today: date, reminder_days: int, batch: int = 500
) -> CheckInReport:
    """Publish CheckInDue once per due date (``reminder_days`` ahead) and CheckInOverdue once per overdue
    episode of each Active Platinum client. Event ids derive from the client and the due date, so two
    racing runs publish each once."""
    report = CheckInReport()
    clients = ClientRepository(session)
    while found := await clients.check_ins_unreported(today=today, remind_until=today + timedelta(reminder_days),
                                                         limit=batch):  # fmt: skip
        for client in found:
            due_on = client.check_in_due_on
            assert due_on is not None
            overdue = due_on < today
            # An overdue episode needs no reminder any more.
            client.check_in_due_reported_for = due_on
            if overdue:
                client.check_in_overdue_reported_for = due_on
            event_id = derived_event_id(f"check-in-{'overdue' if overdue else 'due'}:{client.id}:{due_on.isoformat()}")
            if await session.get(HistoryEntry, event_id) is not None:
                continue  # the tier left and came back with a due date that was already announced
            if overdue:
                await _announce_overdue(session, client, due_on, today, event_id)
                report.overdue += 1
            else:
                await _announce_due(session, client, due_on, event_id)
                report.due += 1
        await session.flush()
    return report


async def _announce_due(session: AsyncSession, client: Client, due_on: date, event_id: str) -> None:
    await emit(
        session,
        CheckInDue(
            client_id=client.id,
            due_on=due_on,
            last_check_in_on=client.last_check_in_on,
            dm_id=client.dm_id,
            squad_id=client.squad_id,
        ),
        line=f"Monthly check-in due {due_on.isoformat()}",
        actor=None,
        event_id=event_id,
    )


async def _announce_overdue(session: AsyncSession, client: Client, due_on: date, today: date, event_id: str) -> None:
    days = (today - due_on).days
    await emit(
        session,
        CheckInOverdue(
            client_id=client.id,
            due_on=due_on,
            days_overdue=days,
            last_check_in_on=client.last_check_in_on,
            dm_id=client.dm_id,
            squad_id=client.squad_id,
        ),
        line=f"Monthly check-in overdue: due {due_on.isoformat()}, {days} days late",
        actor=None,
        event_id=event_id,
    )
