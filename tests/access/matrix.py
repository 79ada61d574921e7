# ruff: noqa: E501  (the matrix is a table: one operation a line)
"""The access matrix of docs/access.md as data: for every operation of the published OpenAPI document,
who may call it, which client (if any) it is about, and what an allowed caller gets.

``test_access_matrix.py`` generates its cases from the published document, so an operation added to the
gateway without a row here fails the suite.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from world import UNKNOWN_ID, Caller, World

# The callers who may act on the target client; everyone else is refused before a target is touched.
ACTORS = ("executive", "head", "own_manager", "dm_manager")


class Access(enum.Enum):
    """docs/access.md, "Roles": who may call an operation at all."""

    PUBLIC = "public"  # no token needed (the OAuth callback)
    ANY = "any"  # any signed-in user (their own profile and notifications)
    CLIENTS_MODULE = "clients_module"  # Executive, Head, Manager; Lead and Employee 403
    EXECUTIVE = "executive"  # Executives only


class Scope(enum.Enum):
    """Which client the operation is about, and so what another squad's Manager must get."""

    NONE = "none"  # not about one client: answered as to any Manager, but lists must not name hidden clients
    CLIENT = "client"  # {client_id} or {company_id} is the target client: 404 for another squad's Manager
    PROMPT = "prompt"  # {prompt_id}: the target client's own (accepted) prompt is 404 for another squad


@dataclass(frozen=True)
class Request:
    """What one case sends: path parameters, query and body."""

    path: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None


# How an operation finds its target for a caller. Most share the world's objects; the ones that consume
# their target (delete, accept, convert) get a fresh one per caller.
Prepare = Callable[[World, Caller], Request]


def _shared(**params: Any) -> Prepare:
    def prepare(world: World, _caller: Caller) -> Request:
        return Request(path={"client_id": world.target.id, **world.ids}, params=params)

    return prepare


def _body(json: Any, **params: Any) -> Prepare:
    def prepare(world: World, _caller: Caller) -> Request:
        return Request(path={"client_id": world.target.id, **world.ids}, params=params, json=json)

    return prepare


def _fresh_note(json: Any = None) -> Prepare:
    def prepare(world: World, caller: Caller) -> Request:
        note = world.fresh_note(caller) if caller.name in ACTORS else world.ids["note_id"]
        return Request(path={"client_id": world.target.id, "note_id": note}, json=json)

    return prepare


def _fresh_connection(world: World, caller: Caller) -> Request:
    connection = world.fresh_connection() if caller.name in ACTORS else world.ids["connection_id"]
    return Request(path={"client_id": world.target.id, "connection_id": connection})


def _fresh_company(world: World, caller: Caller) -> Request:
    # Another squad's Manager tries to convert the target (already a client): it must look unknown.
    company = world.fresh_company() if caller.name in ACTORS else world.target.id
    return Request(path={"company_id": company}, json={})


def _company(json: Any = None) -> Prepare:
    def prepare(world: World, _caller: Caller) -> Request:
        return Request(path={"company_id": world.target.id}, json=json)

    return prepare


def _prompt(world: World, caller: Caller) -> Request:
    # Only the callers who may act consume a pending prompt; the rest are refused before it is read.
    prompt = world.pending_prompt() if caller.name in ACTORS else world.target_prompt_id
    return Request(path={"prompt_id": prompt}, json={})


def _fresh_webhook(world: World, caller: Caller) -> Request:
    webhook = world.fresh_webhook() if caller.name == "executive" else world.ids["webhook_id"]
    return Request(path={"webhook_id": webhook})


def _fresh_proposal(world: World, caller: Caller) -> Request:
    proposal = world.fresh_proposal() if caller.name == "executive" else world.ids["proposal_id"]
    return Request(path={"proposal_id": proposal})


def _overridden(world: World, caller: Caller) -> Request:
    if caller.name in ACTORS:
        world.override_target()
    return Request(path={"client_id": world.target.id})


def _new_connection(world: World, _caller: Caller) -> Request:
    # Without a token the connection starts OAuth: 202 with the consent address.
    return Request(
        path={"client_id": world.target.id}, json={"platform": "google_ads", "account_id": world.unique("g")}
    )


def _callback(world: World, _caller: Caller) -> Request:
    return Request(path={"platform": "google_ads"}, params={"state": UNKNOWN_ID, "code": "x"})


def _retarget(world: World, _caller: Caller) -> Request:
    return Request(path={"client_id": world.target.id, **world.ids}, json={"account_id": world.unique("acct")})


@dataclass(frozen=True)
class Operation:
    """One row of the matrix."""

    access: Access
    ok: frozenset[int]  # what an allowed caller gets; a 4xx here is about the input, never about access
    prepare: Prepare
    scope: Scope = Scope.NONE
    # Per caller, where the answer differs for a documented reason other than access.
    per_caller: dict[str, frozenset[int]] = field(default_factory=dict)


def op(
    access: Access, *ok: int, prepare: Prepare | None = None, scope: Scope = Scope.NONE, **per_caller: int
) -> Operation:
    return Operation(
        access, frozenset(ok), prepare or _shared(), scope, {k: frozenset([v]) for k, v in per_caller.items()}
    )


CM, EX, ANY, PUB = Access.CLIENTS_MODULE, Access.EXECUTIVE, Access.ANY, Access.PUBLIC
CLIENT, PROMPT = Scope.CLIENT, Scope.PROMPT
GOAL = {"name": "Leads", "target": "10", "period_start": "2026-01-01", "period_end": "2026-06-30"}
RATINGS = {"profitability": 3, "strategic_value": 3, "relationship_quality": 3}

MATRIX: dict[str, Operation] = {
    "GET /api/v1/clients": op(CM, 200),
    "GET /api/v1/clients/{client_id}": op(CM, 200, scope=CLIENT),
    "PATCH /api/v1/clients/{client_id}": op(CM, 200, prepare=_body({"status": "Active"}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/connections": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/connections": op(CM, 202, prepare=_new_connection, scope=CLIENT),
    "DELETE /api/v1/clients/{client_id}/connections/{connection_id}": op(CM, 204, prepare=_fresh_connection, scope=CLIENT),
    "PATCH /api/v1/clients/{client_id}/connections/{connection_id}": op(CM, 200, 202, prepare=_retarget, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/connections/{connection_id}/accounts": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/connections/{connection_id}/test": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/goals": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/goals": op(CM, 201, prepare=_body(GOAL), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/goals/{goal_id}": op(CM, 200, scope=CLIENT),
    "PATCH /api/v1/clients/{client_id}/goals/{goal_id}": op(CM, 200, prepare=_body({"current": "3.8"}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/health": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/health": op(CM, 201, prepare=_body({"score": 71}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/history": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/insights/analysis": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/insights/summary": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/insights/ask": op(CM, 200, scope=CLIENT),
    # The matrix's system has no model: an allowed caller is told how to configure one.
    "POST /api/v1/clients/{client_id}/insights/ask": op(
        CM, 503, prepare=_body({"question": "which campaigns should I cut this week?"}), scope=CLIENT
    ),
    "GET /api/v1/clients/{client_id}/insights/creatives": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/notes": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/notes": op(CM, 201, prepare=_body({"body": "hello"}), scope=CLIENT),
    "DELETE /api/v1/clients/{client_id}/notes/{note_id}": op(CM, 204, prepare=_fresh_note(), scope=CLIENT),
    "PATCH /api/v1/clients/{client_id}/notes/{note_id}": op(CM, 200, prepare=_fresh_note({"body": "edited"}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/check-ins": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/check-ins": op(CM, 201, prepare=_body({"held_on": "2026-02-10", "notes": "ok"}), scope=CLIENT),
    # A client not in Review (or already decided) has no action to close: a 409 about its state.
    "POST /api/v1/clients/{client_id}/tiering/review-decision": op(CM, 201, 409, prepare=_body({"decision": "improve", "reason": "plan agreed"}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/qbrs": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/qbrs": op(CM, 201, prepare=_body({"held_on": "2026-02-10", "summary": "ok"}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/qbrs/{qbr_id}": op(CM, 200, scope=CLIENT),
    "PATCH /api/v1/clients/{client_id}/qbrs/{qbr_id}": op(CM, 200, prepare=_body({"summary": "edited"}), scope=CLIENT),
    # A second backfill while one runs is a 409 about the client's state, not about access.
    "POST /api/v1/clients/{client_id}/results/backfills": op(CM, 202, 409, prepare=_body({"days": 30}), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/results/backfills/{backfill_id}": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/results/campaigns": op(CM, 200, prepare=_shared(start="2026-01-01", end="2026-01-31"), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/results/creatives": op(CM, 200, prepare=_shared(start="2026-01-01", end="2026-01-31"), scope=CLIENT),
    "GET /api/v1/clients/{client_id}/results/metrics": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/results/breakdown": op(
        CM, 200, prepare=_shared(dimension="channel_group", start="2026-01-01", end="2026-01-31"), scope=CLIENT
    ),
    "GET /api/v1/clients/{client_id}/tiering": op(CM, 200, scope=CLIENT),
    "GET /api/v1/clients/{client_id}/tiering/history": op(CM, 200, scope=CLIENT),
    "POST /api/v1/clients/{client_id}/tiering/override": op(CM, 200, prepare=_body({"tier": "Core", "reason": "flagship"}), scope=CLIENT),
    "DELETE /api/v1/clients/{client_id}/tiering/override": op(CM, 200, prepare=_overridden, scope=CLIENT),
    # A client's Productive link is set by Executives and Heads: its own Managers get 403 (by role, after the
    # client is found), another squad's Manager the 404 of an unknown client.
    "PUT /api/v1/clients/{client_id}/tiering/productive-link": op(CM, 200, prepare=_body({"company_id": "p-1"}), scope=CLIENT, own_manager=403, dm_manager=403),
    "DELETE /api/v1/clients/{client_id}/tiering/productive-link": op(CM, 200, scope=CLIENT, own_manager=403, dm_manager=403),
    "POST /api/v1/clients/{client_id}/tiering/scores": op(CM, 201, prepare=_body({"track": "managed_delivery", "ratings": RATINGS}), scope=CLIENT),
    "GET /api/v1/companies": op(CM, 200, prepare=_shared(limit=200)),
    "POST /api/v1/companies": op(CM, 201, prepare=_body({"name": "Another Company"})),
    "POST /api/v1/companies/import": op(CM, 200, prepare=_body([{"name": "Imported Company"}])),
    "GET /api/v1/companies/{company_id}": op(CM, 200, prepare=_company(), scope=CLIENT),
    "PATCH /api/v1/companies/{company_id}": op(CM, 200, prepare=_company({"industry": "Retail"}), scope=CLIENT),
    "POST /api/v1/companies/{company_id}/convert": op(CM, 201, prepare=_fresh_company, scope=CLIENT),
    "GET /api/v1/conversion-prompts": op(CM, 200, prepare=_shared(state="all", limit=200)),
    "POST /api/v1/conversion-prompts/{prompt_id}/accept": op(CM, 201, prepare=_prompt, scope=PROMPT),
    "POST /api/v1/conversion-prompts/{prompt_id}/dismiss": op(CM, 201, prepare=_prompt, scope=PROMPT),
    "GET /api/v1/groups/{client_id}/members": op(CM, 200, scope=CLIENT),
    # The target's DM sees none of its members: to them it is a client without members, as any other is.
    "GET /api/v1/groups/{client_id}/portfolio": op(CM, 200, scope=CLIENT, dm_manager=404),
    "GET /api/v1/me": op(ANY, 200),
    "GET /api/v1/me/attention": op(CM, 200),
    "GET /api/v1/me/notifications": op(ANY, 200),
    "POST /api/v1/me/notifications/read-all": op(ANY, 200),
    "GET /api/v1/me/notifications/stream": op(ANY, 200),
    "GET /api/v1/me/notifications/unread-count": op(ANY, 200),
    # Someone else's notification answers as an unknown one does; only its recipient reads it.
    "POST /api/v1/me/notifications/{notification_id}/read": op(ANY, 404, dm_manager=200),
    # The OAuth state is the only authority: an unknown one is refused whoever asks, token or not.
    "GET /api/v1/oauth/{platform}/callback": op(PUB, 403, prepare=_callback),
    "GET /api/v1/tiering/framework": op(CM, 200),
    "POST /api/v1/tiering/framework/proposals": op(EX, 201, prepare=_body({"revenue_band_floors": [300000, 150000, 75000, 30000]})),
    "GET /api/v1/tiering/framework/proposals/{proposal_id}": op(EX, 200),
    "GET /api/v1/tiering/framework/proposals/{proposal_id}/clients": op(EX, 200),
    "POST /api/v1/tiering/framework/proposals/{proposal_id}/publish": op(EX, 200, prepare=_fresh_proposal),
    "POST /api/v1/tiering/invoices/import": op(EX, 200, prepare=_body([{"invoice_id": "matrix-1", "client_id": "matrix", "issued_on": "2026-01-05", "amount": "10.00", "currency": "EUR"}])),
    "GET /api/v1/tiering/recalculations": op(EX, 200),
    "POST /api/v1/tiering/recalculations": op(EX, 202, prepare=_body({"period": "2026-01"})),
    "GET /api/v1/webhooks": op(EX, 200),
    "POST /api/v1/webhooks": op(EX, 201, prepare=_body({"url": "https://127.0.0.1:9/new", "event_types": ["TierChanged"]})),
    "DELETE /api/v1/webhooks/{webhook_id}": op(EX, 204, prepare=_fresh_webhook),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": op(EX, 200),
}  # fmt: skip


def expected(operation: Operation, caller: Caller) -> frozenset[int] | str:
    """The statuses ``caller`` may get, or ``"hidden"``: exactly what an unknown target gets (a 404)."""
    if operation.access is Access.PUBLIC:
        return operation.ok
    if caller.token != "valid":
        return frozenset([401])
    if operation.access is Access.EXECUTIVE and caller.name != "executive":
        return frozenset([403])
    if operation.access is Access.CLIENTS_MODULE and caller.name in ("lead", "employee"):
        return frozenset([403])
    if caller.name == "other_manager" and operation.scope is not Scope.NONE:
        return "hidden"
    return operation.per_caller.get(caller.name, operation.ok)
