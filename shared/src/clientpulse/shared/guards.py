"""What every service's controllers declare once instead of calling in each handler: the caller the
gateway vouched for, function-level access (the clients module, Executives only) and the refusal of
NUL characters, as Litestar guards; and the base of every request body.

A controller that inherits ``ClientsModuleController`` cannot add a route that forgets the access check.
The guards are coroutines: Litestar runs a plain function guard in a worker thread, a hand-off that
cost more per request than the checks themselves.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from pydantic import BaseModel, ConfigDict, model_validator

from clientpulse.shared.access import require_clients_module, require_executive
from clientpulse.shared.errors import Unauthenticated, Unprocessable
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, IdentityError, verify_identity

_CALLER = "clientpulse.caller"


def contains_nul(value: Any) -> bool:
    """Whether a decoded value holds a NUL character anywhere (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def caller(connection: ASGIConnection[Any, Any, Any, Any], secret: str) -> Identity:
    """The user the gateway vouched for (verified once per request), or 401."""
    known = connection.scope.get("state", {}).get(_CALLER)
    if isinstance(known, Identity):
        return known
    token = connection.headers.get(IDENTITY_HEADER)
    if not token:
        raise Unauthenticated("no forwarded identity: call this service through the gateway")
    try:
        identity = verify_identity(token, secret)
    except IdentityError as exc:
        raise Unauthenticated(str(exc)) from exc
    connection.scope.setdefault("state", {})[_CALLER] = identity
    return identity


def _secret(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return str(connection.app.state["runtime"].settings.identity_secret.get_secret_value())


def _refuse_nul_characters(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    if contains_nul(list(connection.path_params.values())) or contains_nul(list(connection.query_params.values())):
        raise Unprocessable("a path or query value contains a NUL character")


# Each base controller has one guard that makes all its checks: Litestar copies the route handler for
# every guard it calls, a cost per request that a second guard doubles.


async def refuse_nul_characters(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """A NUL in a path or query value can name nothing stored here: say so instead of failing in the database."""
    _refuse_nul_characters(connection)


async def clients_module(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """No NUL characters (422), then Executive, Head and Manager only; Lead and Employee get 403."""
    _refuse_nul_characters(connection)
    require_clients_module(caller(connection, _secret(connection)))


async def executive_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """No NUL characters (422), then Executives only."""
    _refuse_nul_characters(connection)
    require_executive(caller(connection, _secret(connection)))


class ServiceController(Controller):
    """Base of every service controller: NUL characters in paths and queries are refused."""

    guards = [refuse_nul_characters]


class ClientsModuleController(ServiceController):
    """Base of the controllers of the clients module (every route checks the caller's role)."""

    guards = [clients_module]


class ExecutiveController(ServiceController):
    """Base of controllers only Executives may use."""

    guards = [executive_only]


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused, text is stripped and may hold no NUL."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        if contains_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data
