"""Who is signed in: the user and their gateway token, kept in the session cookie.

The cookie is Litestar's client-side session: encrypted and authenticated with a key derived from
``CLIENTPULSE_WEB_SESSION_SECRET`` (a changed or forged cookie is dropped), HTTP-only, SameSite=Lax.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.session.client_side import CookieBackendConfig

from clientpulse.web.settings import WebSettings

SESSION_COOKIE = "clientpulse_session"
CLIENTS_MODULE_ROLES = frozenset({"executive", "head", "manager"})


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in person, as the gateway's ``/me`` named them, and the token that speaks for them."""

    sub: str
    role: str
    squad: str | None
    name: str | None
    token: str
    expires_at: float

    @property
    def sees_clients(self) -> bool:
        """Whether the role reaches the clients module (Executive, Head, Manager)."""
        return self.role in CLIENTS_MODULE_ROLES

    @property
    def label(self) -> str:
        """The name to show."""
        return self.name or self.sub


def session_config(settings: WebSettings) -> CookieBackendConfig:
    """The session cookie's configuration."""
    key = hashlib.sha256(settings.session_secret.get_secret_value().encode()).digest()
    return CookieBackendConfig(
        secret=key,
        key=SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_max_age_seconds,
    )


def sign_in(request: Request[Any, Any, Any], user: User) -> None:
    """Start a fresh session for ``user`` (nothing of an earlier one is kept)."""
    request.clear_session()
    request.set_session({"user": asdict(user)})


def current_user(request: Request[Any, Any, Any]) -> User | None:
    """The signed-in user, or None when nobody is (or the token has expired)."""
    raw = request.session.get("user") if request.scope.get("session") else None
    if not isinstance(raw, dict):
        return None
    try:
        user = User(**raw)
    except TypeError:
        return None
    return user if user.expires_at > time.time() else None


def require_user(request: Request[Any, Any, Any]) -> User:
    """The signed-in user; sends the person to the sign-in page otherwise."""
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException("sign in to continue")
    return user
