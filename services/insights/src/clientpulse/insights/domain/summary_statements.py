"""The deterministic relationship summary's statements, templated from the records.

Each statement is (topic, text, citations as (kind, id)). Nothing people wrote is quoted: a note or a QBR
summary is counted and cited, never copied into the text, so no text in them can become a statement.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from clientpulse.insights.domain.relationship import RelationshipRecords

Cited = list[tuple[str, str]]
StatementParts = tuple[str, str, Cited]
RECENT_NOTES_DAYS = 30
HEALTH_TREND_POINTS = 3


def _status(records: RelationshipRecords) -> StatementParts:
    client = records.client
    cited: Cited = [("client", client.id)]
    text = f"{client.name} is {client.status}"
    if client.status_changed_at is not None:
        text += f" since {client.status_changed_at.date().isoformat()}"
    if records.status_changes:
        latest = records.status_changes[0]
        cited.append(("history", latest.id))
        text += f"; {len(records.status_changes)} status change(s) on record"
    return "status", text + ".", cited


def _tier(records: RelationshipRecords) -> StatementParts | None:
    if not records.receipts:
        if records.client.tier is None:
            return "tier", "The client has not been scored yet.", [("client", records.client.id)]
        return None
    latest = records.receipts[0]
    text = f"Effective tier {latest.effective_tier}, computed {latest.computed_tier} at score {latest.score}"
    if latest.override_tier:
        text += f"; overridden to {latest.override_tier}"
    if records.tier_trend in ("up", "down"):
        text += f"; the score trend is {records.tier_trend}"
    if records.client.stale:
        text += "; the ratings are stale"
    cited: Cited = [("tier_receipt", latest.id)]
    changes = [r for r in records.receipts[1:] if r.effective_tier != latest.effective_tier]
    if changes:
        text += f" (was {changes[0].effective_tier} on {changes[0].recorded_at.date().isoformat()})"
        cited.append(("tier_receipt", changes[0].id))
    return "tier", text + ".", cited


def _health(records: RelationshipRecords) -> StatementParts | None:
    if not records.health:
        return None
    points = records.health[:HEALTH_TREND_POINTS]
    latest = points[0]
    text = f"Health is {latest.score} ({latest.band}) as of {latest.recorded_at.date().isoformat()}"
    if len(points) > 1:
        oldest = points[-1]
        direction = "up" if latest.score > oldest.score else "down" if latest.score < oldest.score else "flat"
        text += f", {direction} from {oldest.score} over the last {len(points)} scores"
    return "health", text + ".", [("health", p.id) for p in points]


def _qbr(records: RelationshipRecords) -> StatementParts:
    client = records.client
    cited: Cited = [("client", client.id)]
    if records.qbrs:
        latest = records.qbrs[0]
        cited.insert(0, ("qbr", latest.id))
        text = f"Last QBR held on {latest.held_on.isoformat()} with {len(latest.outcomes)} outcome(s) recorded"
    else:
        text = "No QBR has been logged"
    if client.next_qbr_due_on is not None:
        text += f"; the next is due on {client.next_qbr_due_on.isoformat()}"
    if client.qbr_overdue:
        text += " and is overdue"
    return "qbr", text + ".", cited


def _goals(records: RelationshipRecords) -> StatementParts | None:
    open_goals = [g for g in records.goals if not g.closed]
    if not open_goals:
        return None
    counts = Counter(g.status for g in open_goals)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("On Track", "At Risk", "Off Track") if counts[s])
    text = f"{len(open_goals)} open goal(s): {parts}"
    behind = [g for g in open_goals if g.status != "On Track"]
    if behind:
        text += "; behind: " + ", ".join(f"{g.name} ({g.current} of {g.target})" for g in behind[:3])
    return "goals", text + ".", [("goal", g.id) for g in (behind or open_goals)[:5]]


def _notes(records: RelationshipRecords, today: date) -> StatementParts | None:
    live = [n for n in records.notes if not n.deleted and n.body]
    if not live:
        return None
    since = today - timedelta(days=RECENT_NOTES_DAYS)
    recent = [n for n in live if n.created_at.date() >= since]
    newest = max(live, key=lambda n: n.created_at)
    text = (
        f"{len(recent)} note(s) written in the last {RECENT_NOTES_DAYS} days; "
        f"the latest on {newest.created_at.date().isoformat()}"
    )
    return "notes", text + ".", [("note", n.id) for n in (recent or [newest])[:5]]


def _results(records: RelationshipRecords) -> StatementParts | None:
    analysis = records.analysis
    if analysis is None:
        return None
    if analysis.health_score is None:
        text = f"The latest results analysis ({analysis.week}) is kept as text."
    else:
        text = f"The latest results analysis ({analysis.week}) scored {analysis.health_score} ({analysis.status})."
    return "results", text, [("analysis", analysis.id)]


def _headline(records: RelationshipRecords) -> str:
    client = records.client
    parts = [f"{client.name}: {client.status}"]
    if client.tier:
        parts.append(f"{client.tier} tier")
    if client.health_band:
        parts.append(f"health {client.health_band}")
    if client.qbr_overdue:
        parts.append("QBR overdue")
    return ", ".join(parts) + "."


def deterministic_statements(records: RelationshipRecords, today: date) -> tuple[str, list[StatementParts]]:
    """The headline and the statements, in a fixed order; topics without records are left out."""
    candidates = [
        _status(records),
        _tier(records),
        _health(records),
        _qbr(records),
        _goals(records),
        _notes(records, today),
        _results(records),
    ]
    return _headline(records), [s for s in candidates if s is not None]
