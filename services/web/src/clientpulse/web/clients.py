"""The clients module's pages: the client list, a client's tabs, and the forms that change a client."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from clientpulse.web.client_tabs import LOADERS, TABS, tabs_of
from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.layout import page
from clientpulse.web.session import require_user

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
LIST_FILTERS = ("status", "tier", "health_band", "stale", "dm_id", "squad_id", "group_id", "q", "sort", "cursor")
LIST_SORTS = (("name", "Name"), ("health", "Health"), ("next_qbr_due", "Next QBR"), ("created", "Created"))


class ClientPages(Controller):
    """``GET /clients`` and ``GET /clients/{client_id}[/{tab}]``."""

    path = "/clients"

    @get("/", name="clients")
    async def list_clients(self, request: Request[Any, Any, Any], gateway: Gateway) -> Template:
        user = require_user(request)
        filters = {key: request.query_params.get(key, "") for key in LIST_FILTERS}
        clients = await gateway.get("/clients", user.token, limit=25, **filters)
        base = {key: value for key, value in filters.items() if value and key != "cursor"}
        return await page(
            gateway,
            user,
            "clients.html",
            clients=clients,
            filters=filters,
            base=base,
            sorts=LIST_SORTS,
            title="Clients",
        )

    @get("/{client_id:str}", name="client")
    async def overview(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str) -> Template:
        return await self._tab(request, gateway, client_id, "overview")

    @get("/{client_id:str}/{tab:str}", name="client-tab")
    async def tab(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, tab: str) -> Template:
        return await self._tab(request, gateway, client_id, tab)

    async def _tab(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, tab: str) -> Template:
        user = require_user(request)
        loader = LOADERS.get(tab)
        if loader is None:
            raise NotFoundException(f"a client has no {tab!r} tab; the tabs are {', '.join(LOADERS)}")
        client = await gateway.get(f"/clients/{client_id}", user.token)
        context = await loader(gateway, user.token, client_id, request.query_params)
        refused = refused_action(request)
        return await page(
            gateway,
            user,
            f"client_{tab}.html",
            client=client,
            tab=tab,
            tabs=tabs_of(client),
            title=f"{client['name']} · {dict(TABS)[tab]}",
            flash=request.query_params.get("flash"),
            refused=refused,
            cookies=[Cookie(key=REFUSED_COOKIE, value="", max_age=0, path="/")] if refused else [],
            **context,
        )


def _to(client_id: str, tab: str, flash: str = "", cookies: list[Cookie] | None = None, **query: str) -> Redirect:
    suffix = "" if tab == "overview" else f"/{tab}"
    params = urlencode({k: v for k, v in {"flash": flash, **query}.items() if v})
    return Redirect(f"/clients/{client_id}{suffix}" + (f"?{params}" if params else ""), cookies=cookies)


def _optional(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


# The tab each form returns to, by the last segment of its action path.
ACTION_TABS = {
    "status": "overview",
    "score": "tiering",
    "override": "tiering",
    "remove": "tiering",
    "health": "health",
    "qbrs": "qbrs",
    "check-ins": "checkins",
    "goals": "goals",
    "notes": "notes",
    "connections": "connections",
    "test": "connections",
    "backfill": "results",
    "ask": "insights",
}
REFUSED_COOKIE = "clientpulse_refused"


def _back_with_problem(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[Any]:
    """A refused form goes back to its tab, which shows the problem in words (kept for one page view)."""
    if problem.status == 401:
        request.clear_session()
        return Redirect("/sign-in")
    parts = request.url.path.strip("/").split("/")
    tab = "connections" if "connections" in parts else ACTION_TABS.get(parts[-1], "overview")
    value = json.dumps({"status": problem.status, "title": problem.title, "detail": problem.detail})
    cookie = Cookie(key=REFUSED_COOKIE, value=quote(value), max_age=60, path="/", httponly=True, samesite="lax")
    return _to(parts[1], tab, cookies=[cookie])


def refused_action(request: Request[Any, Any, Any]) -> ApiProblem | None:
    """The problem a form just met, if the browser brings one back."""
    raw = request.cookies.get(REFUSED_COOKIE)
    if not raw:
        return None
    try:
        body = json.loads(unquote(raw))
        return ApiProblem(int(body["status"]), str(body["title"]), str(body["detail"]))
    except (ValueError, KeyError, TypeError):
        return None


class ClientActions(Controller):
    """Forms posted from a client's tabs; each calls one gateway route and returns to the tab.

    A refusal (bad input, a 409, the insights service's 503 without a model) returns to the tab with
    the problem shown in words above it.
    """

    path = "/clients/{client_id:str}/do"
    exception_handlers = {ApiProblem: _back_with_problem}  # type: ignore[dict-item]

    @get("/backfills/{backfill_id:str}", name="backfill-progress")
    async def backfill_progress(
        self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, backfill_id: str
    ) -> Any:
        """A backfill's progress as JSON, for the page's script to poll."""
        user = require_user(request)
        return await gateway.get(f"/clients/{client_id}/results/backfills/{backfill_id}", user.token)

    @post("/status", name="set-status")
    async def status(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {"status": data.get("status"), "status_reason": _optional(data.get("status_reason"))}
        await gateway.call("PATCH", f"/clients/{client_id}", user.token, json=body)
        return _to(client_id, "overview", "Status changed")

    @post("/score", name="score-now")
    async def score(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        ratings = {
            key[len("rating_") :]: int(value) for key, value in data.items() if key.startswith("rating_") and value
        }
        result = await gateway.post(
            f"/clients/{client_id}/tiering/scores", user.token, {"track": data.get("track"), "ratings": ratings}
        )
        return _to(client_id, "tiering", f"Scored: {result['current']['effective_tier']}")

    @post("/override", name="override")
    async def override(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        expires = _optional(data.get("expires_on"))
        body = {
            "tier": data.get("tier"),
            "reason": data.get("reason", ""),
            "expires_at": f"{expires}T00:00:00Z" if expires else None,
        }
        await gateway.post(f"/clients/{client_id}/tiering/override", user.token, body)
        return _to(client_id, "tiering", "Override set")

    @post("/override/remove", name="remove-override")
    async def remove_override(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str) -> Redirect:
        user = require_user(request)
        await gateway.call("DELETE", f"/clients/{client_id}/tiering/override", user.token)
        return _to(client_id, "tiering", "Override removed")

    @post("/health", name="record-health")
    async def health(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {"score": _integer(data.get("score"), "score"), "note": _optional(data.get("note"))}
        await gateway.post(f"/clients/{client_id}/health", user.token, body)
        return _to(client_id, "health", "Health recorded")

    @post("/qbrs", name="log-qbr")
    async def qbr(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        qbr_id = _optional(data.get("qbr_id"))
        body = {
            "held_on": data.get("held_on"),
            "summary": data.get("summary", ""),
            "internal_attendees": _lines(data.get("internal_attendees")),
            "client_attendees": _lines(data.get("client_attendees")),
            "outcomes": _lines(data.get("outcomes")),
        }
        if qbr_id:
            await gateway.call("PATCH", f"/clients/{client_id}/qbrs/{qbr_id}", user.token, json=body)
            return _to(client_id, "qbrs", "QBR corrected")
        await gateway.post(f"/clients/{client_id}/qbrs", user.token, body)
        return _to(client_id, "qbrs", "QBR logged")

    @post("/check-ins", name="log-check-in")
    async def check_in(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {
            "held_on": data.get("held_on"),
            "held_by": _optional(data.get("held_by")),
            "notes": data.get("notes", ""),
        }
        await gateway.post(f"/clients/{client_id}/check-ins", user.token, body)
        return _to(client_id, "checkins", "Check-in logged")

    @post("/goals", name="add-goal")
    async def goal(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        goal_id = _optional(data.get("goal_id"))
        if goal_id:
            body = {"current": _optional(data.get("current")), "closed": data.get("closed") == "on" or None}
            await gateway.call("PATCH", f"/clients/{client_id}/goals/{goal_id}", user.token, json=body)
            return _to(client_id, "goals", "Goal updated")
        body = {
            key: _optional(data.get(key))
            for key in (
                "name",
                "kind",
                "direction",
                "target",
                "current",
                "unit",
                "period_start",
                "period_end",
                "metric",
            )
        }
        await gateway.post(f"/clients/{client_id}/goals", user.token, {k: v for k, v in body.items() if v is not None})
        return _to(client_id, "goals", "Goal added")

    @post("/notes", name="add-note")
    async def note(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {"body": data.get("body", ""), "parent_id": _optional(data.get("parent_id"))}
        await gateway.post(f"/clients/{client_id}/notes", user.token, body)
        return _to(client_id, "notes", "Note added")

    @post("/connections", name="connect")
    async def connect(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        method = "oauth" if data.get("method") == "oauth" else "token"
        body: dict[str, Any] = {
            "platform": data.get("platform"),
            "account_id": data.get("account_id", ""),
            "method": method,
        }
        if method == "token":
            body["access_token"] = data.get("access_token", "")
        answer = await gateway.post(f"/clients/{client_id}/connections", user.token, body)
        if isinstance(answer, dict) and answer.get("authorization_url"):
            return Redirect(answer["authorization_url"])
        return _to(client_id, "connections", "Connected")

    @post("/connections/{connection_id:str}/test", name="test-connection")
    async def test(
        self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, connection_id: str
    ) -> Redirect:
        user = require_user(request)
        answer = await gateway.post(f"/clients/{client_id}/connections/{connection_id}/test", user.token)
        return _to(client_id, "connections", f"Connection is {answer['status']}")

    @post("/connections/{connection_id:str}/remove", name="remove-connection")
    async def remove(
        self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, connection_id: str
    ) -> Redirect:
        user = require_user(request)
        await gateway.call("DELETE", f"/clients/{client_id}/connections/{connection_id}", user.token)
        return _to(client_id, "connections", "Connection removed")

    @post("/backfill", name="backfill")
    async def backfill(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        answer = await gateway.post(
            f"/clients/{client_id}/results/backfills", user.token, {"days": _integer(data.get("days"), "days")}
        )
        return _to(client_id, "results", "", backfill=answer["id"])

    @post("/ask", name="ask")
    async def ask(self, request: Request[Any, Any, Any], gateway: Gateway, client_id: str, data: Form) -> Redirect:
        user = require_user(request)
        await gateway.post(f"/clients/{client_id}/insights/ask", user.token, {"question": data.get("question", "")})
        return _to(client_id, "insights", "Answered")


def _integer(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ApiProblem(400, "Bad input", f"{name} must be a whole number, not {value!r}") from None
