"""What every controller of the clients API shares."""

from __future__ import annotations

from typing import Any

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from clientpulse.shared.errors import Unprocessable


def contains_nul(value: Any) -> bool:
    """Whether a decoded value holds a NUL character anywhere (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def refuse_nul_characters(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """A NUL in a path or query value can name nothing stored here: say so instead of failing in the database."""
    if contains_nul(list(connection.path_params.values())) or contains_nul(list(connection.query_params.values())):
        raise Unprocessable("a path or query value contains a NUL character")


class ClientsApiController(Controller):
    """Base of the clients service's controllers."""

    guards = [refuse_nul_characters]
