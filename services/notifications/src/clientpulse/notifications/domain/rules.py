"""Notification rules: which event tells whom what. Pure: they return messages, they store nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from clientpulse.shared.contracts.events import (
    BackfillCompleted,
    BackfillFailed,
    CheckInDue,
    CheckInOverdue,
    ClientAssigned,
    ClientCreated,
    ConnectionExpiring,
    DealWon,
    HealthBand,
    HealthScoreRecorded,
    QbrOverdue,
    RecalculationCompleted,
    SeniorDmMissing,
    TierChangeCause,
    TierChanged,
)


class ClientEntry(Protocol):
    """What a rule needs to know of a client from the local replica (``client_directory.ClientEntry``)."""

    @property
    def name(self) -> str | None: ...

    @property
    def dm_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Message:
    """A notification to be delivered to one recipient."""

    recipient_id: str
    rule: str
    title: str
    body: str
    client_id: str | None
    link: str | None


def client_link(client_id: str) -> str:
    """Where the frontend shows a client."""
    return f"/clients/{client_id}"


def on_client_created(event: ClientCreated) -> list[Message]:
    """A new client with a delivery manager: tell the DM they look after it now."""
    if not event.dm_id:
        return []
    return [
        Message(
            recipient_id=event.dm_id,
            rule="client_assigned",
            title=f"You are the delivery manager of {event.name}",
            body=f"{event.name} became a client ({event.status.value}) and is assigned to you.",
            client_id=event.client_id,
            link=client_link(event.client_id),
        )
    ]


def client_label(client: ClientEntry | None, client_id: str) -> str:
    """How a message names a client: its name when the replica knows it, else its id."""
    return client.name if client is not None and client.name else client_id


def on_client_assigned(event: ClientAssigned, client: ClientEntry | None) -> list[Message]:
    """A client got a new delivery manager: tell the new DM (nobody when unassigned or unchanged)."""
    if not event.dm_id or event.dm_id == event.previous_dm_id:
        return []
    name = client_label(client, event.client_id)
    return [
        Message(
            recipient_id=event.dm_id,
            rule="client_assigned",
            title=f"You are the delivery manager of {name}",
            body=f"{name} is now assigned to you" + (f" (squad {event.squad_id})." if event.squad_id else "."),
            client_id=event.client_id,
            link=client_link(event.client_id),
        )
    ]


def receipt_link(client_id: str, receipt_id: str | None) -> str:
    """Where the frontend explains a tier: the score receipt, else the client's tiering history."""
    if receipt_id:
        return f"/clients/{client_id}/tiering/history#{receipt_id}"
    return f"/clients/{client_id}/tiering/history"


_CAUSE_WORDS = {
    TierChangeCause.SCORE_NOW: "a new score",
    TierChangeCause.OVERRIDE: "an override",
    TierChangeCause.RECALCULATION: "the monthly recalculation",
    TierChangeCause.EXPIRY: "an expired override",
}


def on_tier_changed(event: TierChanged, client: ClientEntry | None) -> list[Message]:
    """A client's effective tier changed: tell its assigned DM old → new tier, score and cause."""
    if client is None or not client.dm_id:
        return []
    name = client_label(client, event.client_id)
    old = event.old_tier.value if event.old_tier else "unscored"
    score = f"score {event.new_score}" if event.new_score is not None else "no computed score"
    return [
        Message(
            recipient_id=client.dm_id,
            rule="tier_changed",
            title=f"{name}: {old} → {event.new_tier.value}",
            body=f"{name} moved from {old} to {event.new_tier.value} ({score}) after {_CAUSE_WORDS[event.cause]}.",
            client_id=event.client_id,
            link=receipt_link(event.client_id, event.receipt_id),
        )
    ]


RED_BELOW = 40


def enters_red(score: int, previous_band: HealthBand | None) -> bool:
    """True when a health score is Red (below 40) and the client was not Red already.

    A first score that is Red counts as entering Red; staying Red does not tell anyone again.
    """
    return score < RED_BELOW and previous_band is not HealthBand.RED


def on_health_recorded(event: HealthScoreRecorded, client: ClientEntry | None) -> list[Message]:
    """A health score that enters Red: tell the DM."""
    if not enters_red(event.score, event.previous_band) or client is None or not client.dm_id:
        return []
    name = client_label(client, event.client_id)
    note = f" Note: {event.note}" if event.note else ""
    return [
        Message(
            recipient_id=client.dm_id,
            rule="health_red",
            title=f"{name} is in the Red (health {event.score})",
            body=f"{name}'s health dropped to {event.score}, below {RED_BELOW}.{note}",
            client_id=event.client_id,
            link=f"/clients/{event.client_id}/health",
        )
    ]


def qbr_dm(event: QbrOverdue, client: ClientEntry | None) -> str | None:
    """The DM of an overdue QBR: the replica's current one, else the one the event names."""
    if client is not None and client.dm_id:
        return client.dm_id
    return event.dm_id


def on_qbr_overdue(event: QbrOverdue, client: ClientEntry | None) -> list[Message]:
    """An Active client's QBR is past due: tell the DM."""
    dm_id = qbr_dm(event, client)
    if not dm_id:
        return []
    name = client_label(client, event.client_id)
    return [
        Message(
            recipient_id=dm_id,
            rule="qbr_overdue",
            title=f"QBR overdue for {name}",
            body=f"{name}'s QBR was due on {event.due_on.isoformat()} ({event.days_overdue} days overdue).",
            client_id=event.client_id,
            link=f"/clients/{event.client_id}/qbrs",
        )
    ]


def on_check_in_due(event: CheckInDue | CheckInOverdue, client: ClientEntry | None) -> list[Message]:
    """A Platinum client's monthly check-in falls due soon, or is past due: tell the DM."""
    dm_id = client.dm_id if client is not None and client.dm_id else event.dm_id
    if not dm_id:
        return []
    name = client_label(client, event.client_id)
    due = event.due_on.isoformat()
    if isinstance(event, CheckInOverdue):
        rule, title = "check_in_overdue", f"Monthly check-in overdue for {name}"
        body = f"{name}'s monthly check-in was due on {due} ({event.days_overdue} days overdue)."
    else:
        rule, title = "check_in_due", f"Monthly check-in due for {name}"
        body = f"{name}'s monthly check-in is due on {due}."
    return [
        Message(
            recipient_id=dm_id,
            rule=rule,
            title=title,
            body=body,
            client_id=event.client_id,
            link=f"/clients/{event.client_id}/check-ins",
        )
    ]


def on_senior_dm_missing(
    event: SeniorDmMissing, client: ClientEntry | None, squad_heads: dict[str, list[str]], heads: list[str]
) -> list[Message]:
    """A Platinum client is not looked after by a senior DM: tell the Heads of its squad (every Head when its
    squad has none configured)."""
    name = client_label(client, event.client_id)
    recipients = squad_heads.get(event.squad_id, []) if event.squad_id else []
    who = f"DM {event.dm_id}" if event.dm_id else "no DM"
    return [
        Message(
            recipient_id=head,
            rule="senior_dm_missing",
            title=f"{name} is Platinum without a senior DM",
            body=f"{name} is a Platinum client looked after by {who}, who is not one of the senior DMs: "
            "assign a senior DM.",
            client_id=event.client_id,
            link=client_link(event.client_id),
        )
        for head in dict.fromkeys(recipients or heads)
    ]


def escalation_date(due_on: date, days_overdue: int, escalation_days: int) -> date:
    """When an overdue QBR goes to the squad's Head: ``escalation_days`` after the DM was told.

    The DM hears of it ``days_overdue`` days after ``due_on``; the Head that many days later again.
    """
    return due_on + timedelta(days=days_overdue + escalation_days)


def qbr_held_since(latest_held_on: date | None, last_qbr_on: date | None) -> bool:
    """True when the client held a QBR after the one the overdue episode counted from.

    An episode of a client that had never held a QBR (``last_qbr_on`` None) ends with any QBR.
    """
    if latest_held_on is None:
        return False
    return last_qbr_on is None or latest_held_on > last_qbr_on


def qbr_escalation(
    client_id: str, name: str | None, due_on: date, squad_id: str | None, squad_heads: dict[str, list[str]]
) -> list[Message]:
    """An overdue QBR left unlogged: tell the Heads of the client's squad (nobody if none are configured)."""
    label = name or client_id
    heads = squad_heads.get(squad_id, []) if squad_id else []
    return [
        Message(
            recipient_id=head,
            rule="qbr_escalated",
            title=f"QBR still overdue for {label}",
            body=f"{label}'s QBR was due on {due_on.isoformat()} and is still not logged (squad {squad_id}).",
            client_id=client_id,
            link=f"/clients/{client_id}/qbrs",
        )
        for head in dict.fromkeys(heads)
    ]


def on_deal_won(event: DealWon, heads: list[str]) -> list[Message]:
    """A won deal awaits conversion: tell the deal owner if known, else every Head."""
    recipients = [event.owner_id] if event.owner_id else list(dict.fromkeys(heads))
    company = event.company_name or event.client_id
    deal = f" ({event.deal_name})" if event.deal_name else ""
    return [
        Message(
            recipient_id=recipient,
            rule="conversion_prompt",
            title=f"Deal won with {company}: convert it to a client?",
            body=f"The deal{deal} with {company} was won; accept or dismiss the conversion prompt.",
            client_id=event.client_id,
            link="/conversion-prompts",
        )
        for recipient in recipients
    ]


def on_backfill_finished(event: BackfillCompleted | BackfillFailed, client: ClientEntry | None) -> list[Message]:
    """A backfill finished or gave up: tell whoever requested it."""
    name = client_label(client, event.client_id)
    link = f"/clients/{event.client_id}/results/backfills/{event.backfill_id}"
    if isinstance(event, BackfillCompleted):
        title = f"{event.days}-day backfill of {name} finished"
        body = f"The {event.days}-day backfill of {name} finished with {event.rows_written} rows written."
        rule = "backfill_completed"
    else:
        title = f"{event.days}-day backfill of {name} failed"
        body = f"The {event.days}-day backfill of {name} failed: {event.reason}"
        rule = "backfill_failed"
    return [
        Message(
            recipient_id=event.requested_by,
            rule=rule,
            title=title,
            body=body,
            client_id=event.client_id,
            link=link,
        )
    ]


def on_connection_expiring(event: ConnectionExpiring, client: ClientEntry | None) -> list[Message]:
    """A connection's access ends soon and cannot be renewed: its client's DM is asked to reconnect it."""
    if client is None or not client.dm_id:
        return []
    name = client_label(client, event.client_id)
    account = f"{event.account_name} ({event.account_id})" if event.account_name else event.account_id
    ends = event.expires_at.date().isoformat()
    return [
        Message(
            recipient_id=client.dm_id,
            rule="connection_expiring",
            title=f"{event.platform_name} access for {name} ends on {ends}",
            body=(
                f"The {event.platform_name} connection of {name} to account {account} stops working on {ends} and "
                "cannot be renewed automatically: connect the account again before then so its results keep coming."
            ),
            client_id=event.client_id,
            link=f"/clients/{event.client_id}/connections",
        )
    ]


def on_recalculation_completed(event: RecalculationCompleted, executives: list[str]) -> list[Message]:
    """A period's recalculation ended: tell every Executive its counts."""
    body = (
        f"Recalculation of {event.period}: {event.recalculated} clients recalculated, {event.changed} changed tier, "
        f"{event.skipped_never_scored} never scored (skipped), {event.failed} failed."
    )
    return [
        Message(
            recipient_id=executive,
            rule="recalculation_completed",
            title=f"Tier recalculation {event.period}: {event.changed} tier changes",
            body=body,
            client_id=None,
            link="/tiering/recalculations",
        )
        for executive in dict.fromkeys(executives)
    ]
