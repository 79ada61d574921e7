"""Gorgias: one helpdesk's REST API (account, tickets, messages, satisfaction surveys) under
``/gorgias/{subdomain}/api``.

HTTP Basic with ``email:api_key``; a missing or malformed login, or a key killed by ``expired_token``,
is a 401. Lists are cursor-paginated (``cursor``, ``limit`` 1–100, ``meta.next_cursor``) and ordered by
the documented ``order_by`` values. Every answer carries ``X-Gorgias-Account-Api-Call-Limit``
(``used/40``, a bucket leaking 2 calls a second); only the faults refuse: ``throttle`` and
``rate_limit`` are a 429 with ``Retry-after`` and the header at ``40/40``, ``forbidden`` a 403.

Each helpdesk has about a year of tickets, the same for the same subdomain whatever the process: a
few a day, most answered by an agent within hours (some after an internal note), most closed hours to
days after they were created (some never), some rated 1 to 5 days later, a few spam, and every tenth
started by the company. What lies after the present moment is not shown yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox.bodies import bad_request
from clientpulse.platform_sandbox.faults import ACCOUNT_FAULTS, Argument, Fault, generic_answer
from clientpulse.platform_sandbox.state import SandboxState, TokenState, state_of

PLATFORM = "gorgias"
FAULTS: dict[str, Argument] = {"forbidden": Argument.NONE}  # a 403: the key's user may not read this
GRANT_KINDS = {"access": 10 * 365 * 86_400.0}  # an API key lives until someone deletes it
# The helpdesk named in the demo (any subdomain works).
DEMO_SUBDOMAIN = "demo-store"
DEFAULT_TIME_ZONE = "America/New_York"
HISTORY_DAYS = 400
BUCKET_SIZE, LEAK_PER_SECOND = 40, 2.0
THROTTLE_WAIT_SECONDS = 5  # the documentation's example Retry-after
CALL_LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
_VOCABULARY = ACCOUNT_FAULTS | FAULTS
_ORDERS = {
    "tickets": ("created_datetime:asc", "created_datetime:desc", "updated_datetime:asc", "updated_datetime:desc"),
    "messages": ("created_datetime:asc", "created_datetime:desc"),
    "satisfaction-surveys": ("created_datetime:asc", "created_datetime:desc"),
}
_CHANNELS = ("email", "chat", "email", "contact_form", "instagram-direct-message")
# Calls in each helpdesk's bucket: (state, subdomain) → (level, when last counted).
_BUCKETS: dict[tuple[int, str], tuple[float, float]] = {}


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


@dataclass(frozen=True, slots=True)
class HelpdeskMessage:
    """A message of a sandbox ticket."""

    message_id: int
    ticket_id: int
    at: datetime
    from_agent: bool
    internal: bool = False


@dataclass(frozen=True, slots=True)
class HelpdeskTicket:
    """A sandbox ticket with everything that will ever happen to it."""

    ticket_id: int
    created: datetime
    channel: str
    outbound: bool
    spam: bool
    messages: tuple[HelpdeskMessage, ...]
    closed: datetime | None
    survey_created: datetime | None
    scored: datetime | None
    score: int | None


def _messages(ticket_id: int, created: datetime, rng: random.Random, outbound: bool) -> list[HelpdeskMessage]:
    """The conversation: the customer's question, perhaps a note, an agent's reply, a thank-you."""
    base = ticket_id * 10
    if outbound:  # the company wrote first; the customer answered two hours later, an agent an hour after
        return [
            HelpdeskMessage(base + 1, ticket_id, created, True),
            HelpdeskMessage(base + 2, ticket_id, created + timedelta(hours=2), False),
            HelpdeskMessage(base + 3, ticket_id, created + timedelta(hours=3), True),
        ]
    found = [HelpdeskMessage(base + 1, ticket_id, created, False)]
    if rng.random() < 0.15:
        return found  # nobody answered (yet)
    delay = timedelta(seconds=rng.randrange(120, 30 * 3600))
    if rng.random() < 0.25:
        found.append(HelpdeskMessage(base + 2, ticket_id, created + delay / 2, True, internal=True))
    found.append(HelpdeskMessage(base + 3, ticket_id, created + delay, True))
    found.append(HelpdeskMessage(base + 4, ticket_id, created + delay + timedelta(minutes=40), False))
    return found


def _ticket(subdomain: str, day: date, index: int, ticket_id: int) -> HelpdeskTicket:
    rng = _rng("ticket", subdomain, day.isoformat(), index)
    created = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))
    outbound = index % 10 == 7
    messages = _messages(ticket_id, created, rng, outbound)
    closed = survey = scored = score = None
    if rng.random() < 0.82:
        closed = messages[-1].at + timedelta(seconds=rng.randrange(1800, 6 * 86_400))
        if rng.random() < 0.6:
            survey = closed
            if rng.random() < 0.7:
                scored = closed + timedelta(seconds=rng.randrange(3600, 5 * 86_400))
                score = rng.choice((1, 2, 3, 4, 4, 5, 5, 5, 5))
    return HelpdeskTicket(
        ticket_id=ticket_id,
        created=created,
        channel=_CHANNELS[index % len(_CHANNELS)],
        outbound=outbound,
        spam=rng.random() < 0.03,
        messages=tuple(messages),
        closed=closed,
        survey_created=survey,
        scored=scored,
        score=score,
    )


@lru_cache(maxsize=16)
def helpdesk_tickets(subdomain: str, volume: int, today: date) -> tuple[HelpdeskTicket, ...]:
    """Every ticket of a helpdesk created in the ``HISTORY_DAYS`` up to ``today`` (UTC days)."""
    digits = int(hashlib.sha256(subdomain.encode()).hexdigest()[:6], 16)
    tickets = []
    for back in range(HISTORY_DAYS, -1, -1):
        day = today - timedelta(days=back)
        count = _rng("day", subdomain, day.isoformat()).randrange(2, 4 + volume)
        ordinal = day.toordinal() - date(2020, 1, 1).toordinal()
        for index in range(count):
            tickets.append(_ticket(subdomain, day, index, 100_000_000 + digits * 1000 + ordinal * 20 + index))
    return tuple(tickets)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _survey_body(ticket: HelpdeskTicket, now: datetime) -> dict[str, Any] | None:
    if ticket.survey_created is None or ticket.survey_created > now:
        return None
    answered = ticket.scored is not None and ticket.scored <= now
    return {
        "id": ticket.ticket_id + 7_000_000_000,
        "body_text": "Thanks!" if answered else None,
        "created_datetime": _stamp(ticket.survey_created),
        "customer_id": ticket.ticket_id + 50_000_000,
        "meta": None,
        "score": ticket.score if answered else None,
        "scored_datetime": _stamp(ticket.scored) if answered else None,
        "sent_datetime": _stamp(ticket.survey_created + timedelta(hours=1)),
        "should_send_datetime": _stamp(ticket.survey_created + timedelta(hours=1)),
        "ticket_id": ticket.ticket_id,
        "uri": f"/api/satisfaction-surveys/{ticket.ticket_id + 7_000_000_000}/",
    }


def _message_body(message: HelpdeskMessage, ticket: HelpdeskTicket) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "uri": f"/api/tickets/{ticket.ticket_id}/messages/{message.message_id}/",
        "ticket_id": ticket.ticket_id,
        "channel": "internal-note" if message.internal else ticket.channel,
        "via": "helpdesk" if message.from_agent else ticket.channel,
        "from_agent": message.from_agent,
        "public": not message.internal,
        "body_text": "Internal note" if message.internal else ("Hello" if message.from_agent else "Hi, a question"),
        "created_datetime": _stamp(message.at),
        "sent_datetime": _stamp(message.at) if message.from_agent else None,
    }


def _customer(ticket_id: int) -> dict[str, Any]:
    number = ticket_id % 997
    return {
        "id": ticket_id + 50_000_000,
        "email": f"customer{number}@example.com",
        "name": f"Customer {number}",
        "firstname": "Customer",
        "lastname": str(number),
        "meta": {},
    }


def _ticket_body(ticket: HelpdeskTicket, now: datetime) -> dict[str, Any]:
    """A ticket as it is at ``now``."""
    seen = [m for m in ticket.messages if m.at <= now]
    closed = ticket.closed if ticket.closed is not None and ticket.closed <= now else None
    survey = _survey_body(ticket, now)
    events = [m.at for m in seen] + [closed] + [ticket.scored if survey and survey["score"] else None]
    return {
        "id": ticket.ticket_id,
        "uri": f"/api/tickets/{ticket.ticket_id}/",
        "status": "closed" if closed else "open",
        "channel": ticket.channel,
        "via": ticket.channel,
        "from_agent": ticket.outbound,
        "spam": ticket.spam,
        "subject": "Where is my order?",
        "external_id": None,
        "language": "en",
        "priority": "normal",
        "customer": _customer(ticket.ticket_id),
        "assignee_user": None,
        "assignee_team": None,
        "meta": None,
        "tags": [],
        "is_unread": len(seen) == 1,
        "last_received_message_datetime": _stamp(max((m.at for m in seen if not m.from_agent), default=None)),
        "created_datetime": _stamp(ticket.created),
        "opened_datetime": _stamp(seen[1].at) if len(seen) > 1 else None,
        "last_message_datetime": _stamp(seen[-1].at),
        "updated_datetime": _stamp(max(e for e in events if e is not None)),
        "closed_datetime": _stamp(closed),
        "trashed_datetime": None,
        "snooze_datetime": None,
        "satisfaction_survey": survey,
    }


def _now(state: SandboxState) -> datetime:
    return datetime.fromtimestamp(state.now(), UTC)


def _calls_in_bucket(state: SandboxState, subdomain: str) -> int:
    """Counts this call in the helpdesk's leaky bucket and says how full it is (it never refuses)."""
    key, now = (id(state), subdomain), state.now()
    level, last = _BUCKETS.get(key, (0.0, now))
    level = min(float(BUCKET_SIZE), max(0.0, level - (now - last) * LEAK_PER_SECOND) + 1)
    _BUCKETS[key] = (level, now)
    return math.ceil(level)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"msg": message}}, status=status, headers=headers)


def _login(request: web.Request) -> tuple[str, str] | None:
    """(email, API key) of the request's HTTP Basic login."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        email, colon, key = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (email, key) if colon and "@" in email and key else None


def _fault_answer(fault: Fault) -> web.Response | None:
    if fault.name in ("throttle", "rate_limit"):
        wait = str(THROTTLE_WAIT_SECONDS) if fault.name == "throttle" else fault.retry_after()
        headers = {"Retry-after": wait, CALL_LIMIT_HEADER: f"{BUCKET_SIZE}/{BUCKET_SIZE}"}
        return _error(429, "Too many requests.", headers)
    if fault.name == "forbidden":
        return _error(403, "You do not have the permission to access this resource.")
    return generic_answer(fault)


def _guard(request: web.Request) -> web.Response | None:
    """Gorgias's refusal of this request, or None to answer it."""
    state, subdomain = state_of(request), request.match_info["subdomain"]
    login = _login(request)
    if login is None:
        return _error(401, "Authentication required: HTTP Basic with your email and an API key.")
    fault = state.next_fault(request, PLATFORM, subdomain, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(login[1])
    if state.token_state(login[1]) in (TokenState.REVOKED, TokenState.EXPIRED):
        return _error(401, "Invalid API key or email.")
    if fault is None or fault.name in ("none", "expired_token"):
        return None
    return _fault_answer(fault)


def _answer(request: web.Request, body: dict[str, Any]) -> web.Response:
    used = _calls_in_bucket(state_of(request), request.match_info["subdomain"])
    return web.json_response(body, headers={CALL_LIMIT_HEADER: f"{used}/{BUCKET_SIZE}"})


def _visible_tickets(request: web.Request) -> tuple[list[HelpdeskTicket], datetime]:
    state, subdomain = state_of(request), request.match_info["subdomain"]
    now = _now(state)
    profile = state.profile(PLATFORM, subdomain)
    tickets = helpdesk_tickets(subdomain, profile.campaigns, now.date())
    return [t for t in tickets if t.created <= now], now


def _cursor_of(key: str, item_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["next", key, item_id]).encode()).decode()


def _page(request: web.Request, resource: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` in the requested order, after the requested cursor."""
    order = request.query.get("order_by", "created_datetime:desc")
    if order not in _ORDERS[resource]:
        raise bad_request(f"order_by must be one of {', '.join(_ORDERS[resource])}")
    try:
        limit = int(request.query.get("limit", "30"))
    except ValueError:
        raise bad_request("limit must be an integer from 1 to 100") from None
    if not 1 <= limit <= 100:
        raise bad_request("limit must be an integer from 1 to 100")
    field, _, direction = order.partition(":")
    ordered = sorted(items, key=lambda i: (i[field], i["id"]), reverse=direction == "desc")
    if cursor := request.query.get("cursor"):
        try:
            _, key, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, binascii.Error):
            raise bad_request("cursor is not a cursor this list gave") from None
        after = (key, item_id)
        if direction == "desc":
            ordered = [i for i in ordered if (i[field], i["id"]) < after]
        else:
            ordered = [i for i in ordered if (i[field], i["id"]) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    next_cursor = _cursor_of(page[-1][field], page[-1]["id"]) if more else None
    return {
        "data": page,
        "object": "list",
        "uri": request.path_qs,
        "meta": {"prev_cursor": cursor or None, "next_cursor": next_cursor},
    }


async def account(request: web.Request) -> web.Response:
    """``GET /api/account``: the helpdesk, with its business-hours time zone."""
    if (problem := _guard(request)) is not None:
        return problem
    state, subdomain = state_of(request), request.match_info["subdomain"]
    configured = state.profiles.get((PLATFORM, subdomain))
    zone = configured.time_zone if configured is not None else DEFAULT_TIME_ZONE
    hours = {"days": "1,2,3,4,5", "from_time": "09:00", "to_time": "18:00"}
    return _answer(
        request,
        {
            "domain": subdomain,
            "created_datetime": "2021-03-02T10:11:12.131415+00:00",
            "deactivated_datetime": None,
            "settings": [{"id": 987, "type": "business-hours", "data": {"timezone": zone, "business_hours": hours}}],
            "status": {"status": "active"},
        },
    )


async def tickets(request: web.Request) -> web.Response:
    """``GET /api/tickets``."""
    if (problem := _guard(request)) is not None:
        return problem
    found, now = _visible_tickets(request)
    return _answer(request, _page(request, "tickets", [_ticket_body(t, now) for t in found]))


async def messages(request: web.Request) -> web.Response:
    """``GET /api/messages`` (``ticket_id`` narrows to one ticket)."""
    if (problem := _guard(request)) is not None:
        return problem
    found, now = _visible_tickets(request)
    wanted = request.query.get("ticket_id")
    bodies = [
        _message_body(m, t)
        for t in found
        if wanted is None or str(t.ticket_id) == wanted
        for m in t.messages
        if m.at <= now
    ]
    return _answer(request, _page(request, "messages", bodies))


async def satisfaction_surveys(request: web.Request) -> web.Response:
    """``GET /api/satisfaction-surveys``: surveys sent so far, answered or not."""
    if (problem := _guard(request)) is not None:
        return problem
    found, now = _visible_tickets(request)
    bodies = [body for t in found if (body := _survey_body(t, now)) is not None]
    return _answer(request, _page(request, "satisfaction-surveys", bodies))


def add_routes(router: web.UrlDispatcher) -> None:
    """Gorgias's routes under ``/gorgias/{subdomain}/api``."""
    router.add_get("/gorgias/{subdomain}/api/account", account)
    router.add_get("/gorgias/{subdomain}/api/tickets", tickets)
    router.add_get("/gorgias/{subdomain}/api/messages", messages)
    router.add_get("/gorgias/{subdomain}/api/satisfaction-surveys", satisfaction_surveys)
