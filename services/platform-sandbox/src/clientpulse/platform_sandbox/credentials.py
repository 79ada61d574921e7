"""What the platforms' OAuth flows share: the token a request presents, and the consent screen, which
the sandbox approves at once (redirecting with an authorization code, or answering it as JSON with
``sandbox_no_redirect``)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from aiohttp import web

from clientpulse.platform_sandbox.bodies import bad_request
from clientpulse.platform_sandbox.state import state_of


def presented_token(request: web.Request, *, header: str | None = None) -> str:
    """The access token of a request: in ``header`` if given, else ``Authorization: Bearer`` or ``access_token``."""
    if header:
        return request.headers.get(header, "")
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() or request.query.get("access_token", "")


def authorize(request: web.Request, platform: str, *, code_param: str) -> web.Response:
    """The consent screen, approved: an authorization code sent back to the caller's redirect URI.

    ``sandbox_account`` records which account the consent was for.
    """
    redirect_uri = request.query.get("redirect_uri") or request.query.get("redirect_url")
    if not redirect_uri:
        raise bad_request("redirect_uri is required")
    code = secrets.token_urlsafe(16)
    state_of(request).codes[code] = {
        "platform": platform,
        "redirect_uri": redirect_uri,
        "code_challenge": request.query.get("code_challenge"),
        "account_id": request.query.get("sandbox_account", ""),
    }
    separator = "&" if "?" in redirect_uri else "?"
    target = f"{redirect_uri}{separator}{urlencode({code_param: code, 'state': request.query.get('state', '')})}"
    if request.query.get("sandbox_no_redirect"):
        return web.json_response({"redirect": target, code_param: code})
    raise web.HTTPFound(target)
