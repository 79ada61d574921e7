"""Use cases on client profiles: status, assignment, group accounts, health, QBRs, goals, notes and the
tier facts replicated from tiering. Each runs inside the caller's unit of work and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Goal, HealthScore, HistoryEntry, Note, NoteRevision, Qbr
from clientpulse.clients.db.repositories import ClientRepository, GoalRepository, NoteRepository, QbrRepository
from clientpulse.clients.domain import rules
from clientpulse.clients.domain.history import add_entry, emit
from clientpulse.shared import goals
from clientpulse.shared.contracts import derived_event_id, new_event_id
from clientpulse.shared.contracts.events import (
    ClientAssigned,
    ClientGroupChanged,
    ClientStatus,
    ClientStatusChanged,
    GoalChanged,
    HealthBand,
    HealthScoreRecorded,
    QbrLogged,
    QbrOverdue,
    Tier,
)
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from clientpulse.shared.identity import Identity


def _tier(client: Client) -> Tier | None:
    return Tier(client.tier) if client.tier else None


def refresh_qbr_due(client: Client) -> None:
    """Recompute the next QBR due date from the client's tier, last QBR and time Active."""
    client.qbr_due_on = rules.qbr_due_date(
        _tier(client), last_qbr_on=client.last_qbr_on, active_since=client.active_since
    )


# --- status, assignment, groups -----------------------------------------------------------------


async def change_status(
    session: AsyncSession, identity: Identity, client: Client, new_status: ClientStatus, reason: str | None
) -> bool:
    """Move a client between Prospect, Active, Dormant and Alumni, keeping who, when and why."""
    old = ClientStatus(client.status)
    if new_status is old:
        return False
    now = utcnow()
    client.status = new_status.value
    client.status_changed_at = now
    client.status_changed_by = identity.sub
    client.status_reason = reason
    if new_status is ClientStatus.ACTIVE:
        client.active_since = now.date()
        refresh_qbr_due(client)
    because = f": {reason}" if reason else ""
    await emit(
        session,
        ClientStatusChanged(
            client_id=client.id, old_status=old, new_status=new_status, reason=reason, changed_by=identity.sub
        ),
        line=f"Status changed from {old.value} to {new_status.value}{because}",
        actor=identity.sub,
    )
    return True


async def assign(
    session: AsyncSession, identity: Identity, client: Client, *, dm_id: str | None, squad_id: str | None
) -> bool:
    """Set the client's DM and squad; only Executives and Heads may (DESIGN.md §7)."""
    if not identity.sees_all_clients:
        raise Forbidden("only an Executive or a Head may assign a client's DM or squad")
    if (dm_id, squad_id) == (client.dm_id, client.squad_id):
        return False
    previous_dm, previous_squad = client.dm_id, client.squad_id
    client.dm_id, client.squad_id = dm_id, squad_id
    await emit(
        session,
        ClientAssigned(
            client_id=client.id,
            dm_id=dm_id,
            squad_id=squad_id,
            previous_dm_id=previous_dm,
            previous_squad_id=previous_squad,
            assigned_by=identity.sub,
        ),
        line=f"Assigned to DM {dm_id or 'nobody'} in squad {squad_id or 'none'}",
        actor=identity.sub,
    )
    return True


async def set_parent(session: AsyncSession, identity: Identity, client: Client, parent_id: str | None) -> bool:
    """Put a client under a parent group account (or take it out with None); no self-parenting, no cycles."""
    if parent_id == client.id:
        raise Unprocessable("a client cannot be its own parent")
    if parent_id == client.parent_id:
        return False
    clients = ClientRepository(session)
    if parent_id is not None:
        parent = await clients.get(parent_id)
        if parent is None or not identity.can_access_client(dm_id=parent.dm_id, squad_id=parent.squad_id):
            raise Unprocessable(f"parent client {parent_id} was not found")
        chain: dict[str, str | None] = {}
        current: str | None = parent_id
        while current is not None and current not in chain:
            chain[current] = await clients.parent_of(current)
            current = chain[current]
        if rules.creates_group_cycle(client.id, parent_id, chain.get):
            raise Conflict(f"making {parent_id} the parent of {client.id} would create a cycle in the group")
    previous = client.parent_id
    client.parent_id = parent_id
    # The group accounts see their membership change in their own history too.
    if previous is not None:
        add_entry(session, client_id=previous, kind="GroupMemberRemoved", line=f"{client.id} left the group",
                  actor=identity.sub)  # fmt: skip
    if parent_id is not None:
        add_entry(session, client_id=parent_id, kind="GroupMemberAdded", line=f"{client.id} joined the group",
                  actor=identity.sub)  # fmt: skip
    await emit(
        session,
        ClientGroupChanged(
            client_id=client.id, parent_id=parent_id, previous_parent_id=previous, changed_by=identity.sub
        ),
        line=f"Group parent set to {parent_id}" if parent_id else "Removed from its group account",
        actor=identity.sub,
    )
    return True


# --- health ------------------------------------------------------------------------------------


async def record_health(
    session: AsyncSession, identity: Identity, client: Client, score: int, note: str | None
) -> HealthScore:
    """Record a 0–100 health score; the client's current band follows it."""
    band = rules.health_band(score)
    previous = HealthBand(client.health_band) if client.health_band else None
    now = utcnow()
    entry = HealthScore(
        id=new_event_id(),
        client_id=client.id,
        score=score,
        band=band.value,
        note=note,
        recorded_by=identity.sub,
        recorded_at=now,
    )
    session.add(entry)
    client.health_score, client.health_band = score, band.value
    await emit(
        session,
        HealthScoreRecorded(
            client_id=client.id,
            health_id=entry.id,
            score=score,
            band=band,
            previous_band=previous,
            note=note,
            recorded_by=identity.sub,
            recorded_at=now,
        ),
        line=f"Health recorded: {score} ({band.value})",
        actor=identity.sub,
    )
    return entry


# --- QBRs --------------------------------------------------------------------------------------


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


# --- tier replica ------------------------------------------------------------------------------


def apply_tier(client: Client, tier: Tier, at: datetime) -> bool:
    """Take a tier from tiering unless a newer event already set one; entering Review starts its 30 days."""
    if client.tier_at is not None and client.tier_at > at:
        return False
    previous = _tier(client)
    client.tier, client.tier_at = tier.value, at
    if tier is Tier.REVIEW and previous is not Tier.REVIEW:
        client.review_action_due_on = rules.review_action_due(at.date())
    elif tier is not Tier.REVIEW:
        client.review_action_due_on = None
    refresh_qbr_due(client)
    return True


def apply_score(client: Client, score: Decimal, ratings_recorded_at: datetime | None, at: datetime) -> bool:
    """Take the latest score (and ratings time, when the event carries it) unless a newer event already did.

    ScoreRecorded carries both; a TierChanged from a recalculation carries only the new score.
    """
    if client.score_at is not None and client.score_at > at:
        return False
    client.tier_score, client.score_at = score, at
    if ratings_recorded_at is not None:
        client.ratings_recorded_at = ratings_recorded_at
    return True


# --- goals -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoalInput:
    """What a goal says when it is created."""

    name: str
    kind: goals.GoalKind
    direction: goals.GoalDirection
    target: Decimal
    current: Decimal
    unit: str | None
    period_start: date
    period_end: date
    metric: str | None


def _check_goal(goal: Goal) -> None:
    if goal.period_end < goal.period_start:
        raise Unprocessable("period_end is before period_start")
    if goal.kind == goals.GoalKind.CUMULATIVE.value and goal.target <= 0:
        raise Unprocessable("a cumulative goal needs a target above 0")


async def create_goal(session: AsyncSession, identity: Identity, client: Client, fields: GoalInput) -> Goal:
    """Set a new goal."""
    now = utcnow()
    goal = Goal(
        id=new_event_id(),
        client_id=client.id,
        name=fields.name,
        kind=fields.kind.value,
        direction=fields.direction.value,
        target=fields.target,
        current=fields.current,
        unit=fields.unit,
        period_start=fields.period_start,
        period_end=fields.period_end,
        metric=fields.metric,
        created_by=identity.sub,
        created_at=now,
        updated_at=now,
    )
    _check_goal(goal)
    GoalRepository(session).add(goal)
    add_entry(session, client_id=client.id, kind="GoalCreated", line=f"Goal set: {goal.name}", actor=identity.sub)
    await _announce_goal(session, goal, identity.sub)
    return goal


async def _announce_goal(session: AsyncSession, goal: Goal, actor: str) -> None:
    """Publish the goal as it now stands (its history entry is written by the caller)."""
    await emit(
        session,
        GoalChanged(
            client_id=goal.client_id,
            goal_id=goal.id,
            name=goal.name,
            kind=goal.kind,
            direction=goal.direction,
            target=goal.target,
            unit=goal.unit,
            period_start=goal.period_start,
            period_end=goal.period_end,
            metric=goal.metric,
            closed=goal.closed_at is not None,
            changed_by=actor,
        ),
        line=None,
        actor=actor,
    )


async def update_goal(
    session: AsyncSession, identity: Identity, client: Client, goal_id: str, changes: dict[str, Any], close: bool
) -> Goal:
    """Change a goal's fields, or close it."""
    goal = await GoalRepository(session).get(client.id, goal_id)
    if goal is None:
        raise NotFound(f"goal {goal_id} was not found")
    if goal.closed_at is not None and (changes or close):
        raise Conflict(f"goal {goal_id} is closed")
    for key, value in changes.items():
        setattr(goal, key, value.value if hasattr(value, "value") else value)
    _check_goal(goal)
    goal.updated_at = utcnow()
    if close:
        goal.closed_at, goal.closed_by = goal.updated_at, identity.sub
    line = f"Goal closed: {goal.name}" if close else f"Goal updated: {goal.name}"
    add_entry(
        session, client_id=client.id, kind="GoalClosed" if close else "GoalUpdated", line=line, actor=identity.sub
    )
    await _announce_goal(session, goal, identity.sub)
    return goal


async def apply_synced_metrics(session: AsyncSession, client_id: str, values: dict[str, Decimal], at: datetime) -> int:
    """Set the current value of open goals linked to synced metrics (older syncs never overwrite newer)."""
    updated = 0
    for goal in await GoalRepository(session).linked_open(client_id, list(values)):
        if goal.current_at is not None and goal.current_at > at:
            continue
        assert goal.metric is not None
        goal.current, goal.current_at, goal.updated_at = values[goal.metric], at, utcnow()
        updated += 1
    return updated


# --- notes -------------------------------------------------------------------------------------


async def add_note(session: AsyncSession, identity: Identity, client: Client, body: str, parent_id: str | None) -> Note:
    """Write a note, or a reply to one of the client's notes."""
    notes = NoteRepository(session)
    if parent_id is not None:
        parent = await notes.get(client.id, parent_id)
        if parent is None:
            raise Unprocessable(f"parent note {parent_id} was not found on this client")
        if parent.deleted_at is not None:
            raise Conflict(f"note {parent_id} was deleted; it takes no replies")
    now = utcnow()
    note = Note(
        id=new_event_id(),
        client_id=client.id,
        parent_id=parent_id,
        author_id=identity.sub,
        body=body,
        created_at=now,
        updated_at=now,
    )
    notes.add(note)
    add_entry(
        session,
        client_id=client.id,
        kind="NoteAdded",
        line="Reply added" if parent_id else "Note added",
        actor=identity.sub,
        details={"note_id": note.id},
    )
    return note


async def _live_note(session: AsyncSession, client: Client, note_id: str) -> Note:
    note = await NoteRepository(session).get(client.id, note_id)
    if note is None or note.deleted_at is not None:
        raise NotFound(f"note {note_id} was not found")
    return note


async def edit_note(session: AsyncSession, identity: Identity, client: Client, note_id: str, body: str) -> Note:
    """Change a note's text; the previous text is kept."""
    note = await _live_note(session, client, note_id)
    if note.author_id != identity.sub and not identity.sees_all_clients:
        raise Forbidden("only the author, an Executive or a Head may edit a note")
    if body == note.body:
        return note
    now = utcnow()
    NoteRepository(session).add(
        NoteRevision(id=new_event_id(), note_id=note.id, body=note.body, replaced_by=identity.sub, replaced_at=now)
    )
    note.body, note.updated_at = body, now
    add_entry(session, client_id=client.id, kind="NoteEdited", line="Note edited", actor=identity.sub,
              details={"note_id": note.id})  # fmt: skip
    return note


async def delete_note(session: AsyncSession, identity: Identity, client: Client, note_id: str) -> None:
    """Mark a note deleted; its text stays for the audit trail but is no longer shown."""
    note = await _live_note(session, client, note_id)
    if note.author_id != identity.sub and not identity.sees_all_clients:
        raise Forbidden("only the author, an Executive or a Head may delete a note")
    note.deleted_at, note.deleted_by = utcnow(), identity.sub
    add_entry(session, client_id=client.id, kind="NoteDeleted", line="Note deleted", actor=identity.sub,
              details={"note_id": note.id})  # fmt: skip
