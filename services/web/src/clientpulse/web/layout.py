"""Rendering a page inside the layout: the sidebar's attention count and unread badge come with it."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.datastructures import Cookie
from litestar.response import Template

from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.session import User


async def _attention(gateway: Gateway, user: User) -> int | None:
    if not user.sees_clients:
        return None
    try:
        return int((await gateway.get("/me/attention", user.token))["count"])
    except (ApiProblem, KeyError, TypeError, ValueError):
        return None


async def _unread(gateway: Gateway, user: User) -> int | None:
    try:
        return int((await gateway.get("/me/notifications/unread-count", user.token))["unread"])
    except (ApiProblem, KeyError, TypeError, ValueError):
        return None


async def page(
    gateway: Gateway,
    user: User,
    template: str,
    *,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    """A page of the console with the sidebar filled in (a failing count leaves its badge out)."""
    attention, unread = await asyncio.gather(_attention(gateway, user), _unread(gateway, user))
    return Template(
        template,
        context={"user": user, "attention": attention, "unread": unread, **context},
        status_code=status,
        cookies=cookies,
    )


async def gather_sections(**calls: Any) -> dict[str, Any]:
    """Run several gateway calls at once; a call that fails gives its ``ApiProblem`` instead of a value."""
    names = list(calls)
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    sections: dict[str, Any] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, ApiProblem):
            raise result
        sections[name] = result
    return sections
