"""A Gorgias helpdesk's day: tickets, agents' first replies and satisfaction surveys turned into the
support metrics of each account-local day.

Each event counts on the day it happened, in the account's time zone (the business-hours time zone):

- ``tickets_created``: tickets created that day;
- ``tickets_closed``, ``resolution_seconds_total``, ``resolutions``: tickets closed that day (their
  ``closed_datetime``), whenever they were created; a resolution lasts from creation to closing;
- ``first_response_seconds_total``, ``first_responses``: tickets created that day that got an agent's
  reply, timed from the customer's first message to the first public agent message after it;
- ``csat_score_total``, ``csat_responses``: surveys answered (``scored_datetime``) that day.

Spam and trashed tickets count nowhere. Durations are whole seconds, never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.domain.catalogue import (
    CSAT_RESPONSES,
    CSAT_SCORE_TOTAL,
    FIRST_RESPONSE_TOTAL,
    FIRST_RESPONSES,
    RESOLUTION_TOTAL,
    RESOLUTIONS,
    SUPPORT_METRICS,
    TICKETS_CLOSED,
    TICKETS_CREATED,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import MetricDay

# Gorgias writes internal notes between agents on this channel; they are never a reply to the customer.
INTERNAL_NOTE_CHANNEL = "internal-note"
LOWEST_SCORE, HIGHEST_SCORE = 1, 5


def parse_instant(value: Any) -> datetime | None:
    """A Gorgias datetime (ISO 8601; examples in the documentation carry no offset: they are UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_start_instant(window: DateRange, time_zone: str) -> datetime:
    """The instant the window's first account-local day begins (UTC)."""
    return datetime.combine(window.start, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the metrics need of a ticket: when it was created, and closed if it is closed now."""

    ticket_id: int
    created: datetime
    closed: datetime | None


def parse_ticket(raw: Mapping[str, Any]) -> Ticket | None:
    """A ticket of the list, or ``None`` for spam, trashed tickets and tickets without a creation time."""
    created = parse_instant(raw.get("created_datetime"))
    if created is None or raw.get("spam") or raw.get("trashed_datetime"):
        return None
    closed = parse_instant(raw.get("closed_datetime")) if raw.get("status") == "closed" else None
    return Ticket(int(raw["id"]), created, closed)


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a ticket: when, and whether an agent wrote it where the customer sees it."""

    message_id: int
    ticket_id: int
    at: datetime
    from_agent: bool
    public: bool


def parse_message(raw: Mapping[str, Any]) -> Message | None:
    """A message of the list, or ``None`` without a ticket or a creation time."""
    at = parse_instant(raw.get("created_datetime"))
    if at is None or raw.get("ticket_id") is None:
        return None
    public = raw.get("public", True) is not False and raw.get("channel") != INTERNAL_NOTE_CHANNEL
    return Message(int(raw["id"]), int(raw["ticket_id"]), at, bool(raw.get("from_agent")), public)


def first_response_seconds(messages: Iterable[Message]) -> int | None:
    """Seconds from the customer's first message to the first public agent message after it, if any."""
    ordered = sorted(messages, key=lambda m: (m.at, m.message_id))
    asked = next((m.at for m in ordered if not m.from_agent), None)
    if asked is None:
        return None  # the company wrote first and the customer never answered: nothing to respond to
    reply = next((m.at for m in ordered if m.from_agent and m.public and m.at >= asked), None)
    return None if reply is None else _seconds(asked, reply)


@dataclass(frozen=True, slots=True)
class Survey:
    """An answered satisfaction survey."""

    survey_id: int
    scored: datetime
    score: int


def parse_survey(raw: Mapping[str, Any]) -> Survey | None:
    """An answered survey with a score from 1 to 5, or ``None`` (not answered yet, or no score)."""
    scored, score = parse_instant(raw.get("scored_datetime")), raw.get("score")
    if scored is None or isinstance(score, bool) or not isinstance(score, int):
        return None
    if not LOWEST_SCORE <= score <= HIGHEST_SCORE:
        return None
    return Survey(int(raw["id"]), scored, score)


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start) // timedelta(seconds=1)))


class SupportTally:
    """The support metrics of every day of a window, all starting at zero."""

    def __init__(self, window: DateRange, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)
        self.days: dict[date, dict[str, int]] = {}
        day = window.start
        while day <= window.end:
            self.days[day] = {metric.key: 0 for metric in SUPPORT_METRICS}
            day += timedelta(days=1)

    def day_of(self, moment: datetime) -> date:
        """The account-local day of an instant."""
        return moment.astimezone(self.zone).date()

    def add(self, moment: datetime, **amounts: int) -> None:
        """Add to the metrics of the day ``moment`` falls on (nothing when it is outside the window)."""
        figures = self.days.get(self.day_of(moment))
        if figures is None:
            return
        for key, amount in amounts.items():
            figures[key] += amount

    def metric_days(self) -> list[MetricDay]:
        """Every metric of every day, zeros included."""
        return [
            MetricDay(day=day, metric_key=key, value=value)
            for day, figures in self.days.items()
            for key, value in figures.items()
        ]


def support_days(
    window: DateRange,
    time_zone: str,
    tickets: Iterable[Ticket],
    messages: Iterable[Message],
    surveys: Iterable[Survey],
) -> list[MetricDay]:
    """The support metrics of each day of ``window`` from the tickets, messages and surveys read."""
    tally = SupportTally(window, time_zone)
    by_ticket: dict[int, list[Message]] = {}
    for message in messages:
        by_ticket.setdefault(message.ticket_id, []).append(message)
    for ticket in tickets:
        tally.add(ticket.created, **{TICKETS_CREATED.key: 1})
        if ticket.closed is not None:
            resolution = _seconds(ticket.created, ticket.closed)
            tally.add(ticket.closed, **{TICKETS_CLOSED.key: 1, RESOLUTION_TOTAL.key: resolution, RESOLUTIONS.key: 1})
        response = first_response_seconds(by_ticket.get(ticket.ticket_id, []))
        if response is not None:
            tally.add(ticket.created, **{FIRST_RESPONSE_TOTAL.key: response, FIRST_RESPONSES.key: 1})
    for survey in surveys:
        tally.add(survey.scored, **{CSAT_SCORE_TOTAL.key: survey.score, CSAT_RESPONSES.key: 1})
    return tally.metric_days()
