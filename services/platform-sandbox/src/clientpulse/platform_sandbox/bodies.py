"""Reading what a caller sent: a JSON object or a 400 that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def bad_request(message: str) -> web.HTTPBadRequest:
    """A 400 whose JSON body says what is wrong."""
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def not_found(message: str) -> web.HTTPNotFound:
    """A 404 whose JSON body says what is missing."""
    return web.HTTPNotFound(text=json.dumps({"error": message}), content_type="application/json")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def required_text(body: dict[str, Any], name: str) -> str:
    """A non-empty string field of a JSON body."""
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{name!r} is required (a non-empty string)")
    return value
