"""Sign-in and sign-out pages: OpenID Connect, and the development sign-in of the embedded mode."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any

import jwt
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from clientpulse.shared.identity import Role
from clientpulse.shared.tokens import mint_token
from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.layout import page
from clientpulse.web.oidc import OidcClient, PendingSignIn, SignInFailed
from clientpulse.web.session import User, current_user, require_user, sign_in
from clientpulse.web.settings import WebSettings

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
DEV_TOKEN_SECONDS = 12 * 3600


async def user_from_token(gateway: Gateway, token: str, expires_at: float) -> User:
    """Ask the gateway who the token names: the console trusts no claim the gateway has not accepted."""
    me = await gateway.get("/me", token)
    return User(
        sub=me["sub"], role=me["role"], squad=me.get("squad"), name=me.get("name"), token=token, expires_at=expires_at
    )


def _sign_in_page(settings: WebSettings, error: str | None = None, status: int = 200) -> Template:
    return Template(
        "sign_in.html",
        context={
            "oidc": bool(settings.oidc_issuer),
            "dev_sign_in": settings.dev_sign_in and settings.dev_mode,
            "roles": [role.value for role in Role],
            "error": error,
            "user": None,
        },
        status_code=status,
    )


class AuthController(Controller):
    """``/sign-in``, the OIDC redirect and callback, the development sign-in and ``/sign-out``."""

    @get("/sign-in", name="sign-in")
    async def page(self, request: Request[Any, Any, Any], settings: WebSettings) -> Template | Redirect:
        if current_user(request) is not None:
            return Redirect("/")
        return _sign_in_page(settings)

    @get("/sign-in/oidc", name="sign-in-oidc")
    async def start(self, request: Request[Any, Any, Any], settings: WebSettings, oidc: OidcClient | None) -> Any:
        if oidc is None:
            return _sign_in_page(settings, "No identity provider is configured (CLIENTPULSE_WEB_OIDC_ISSUER).", 404)
        pending = PendingSignIn.fresh()
        try:
            url = await oidc.authorization_url(pending, settings.redirect_uri, settings.oidc_scopes)
        except SignInFailed as exc:
            return _sign_in_page(settings, str(exc), 502)
        request.set_session({"pending": asdict(pending)})
        return Redirect(url)

    @get("/auth/callback", name="oidc-callback")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        settings: WebSettings,
        oidc: OidcClient | None,
        gateway: Gateway,
        code: str | None = None,
        oauth_state: str | None = Parameter(query="state", default=None),
        error: str | None = None,
        error_description: str | None = None,
    ) -> Any:
        raw = request.session.get("pending") if request.scope.get("session") else None
        if oidc is None or not isinstance(raw, dict):
            return _sign_in_page(settings, "This sign-in was not started here, or it expired; start again.", 400)
        if error or not code or not oauth_state:
            return _sign_in_page(
                settings, f"The identity provider refused the sign-in: {error_description or error}", 400
            )
        try:
            signed = await oidc.complete(
                PendingSignIn(**raw), code=code, state=oauth_state, redirect_uri=settings.redirect_uri
            )
        except SignInFailed as exc:
            request.clear_session()
            return _sign_in_page(settings, str(exc), 400)
        token = signed.access_token if settings.oidc_api_token == "access_token" else signed.id_token  # noqa: S105
        try:
            user = await user_from_token(gateway, token, _expiry(token, float(signed.claims["exp"])))
        except ApiProblem as problem:
            request.clear_session()
            return _sign_in_page(settings, f"The gateway does not accept the provider's token: {problem}", 403)
        sign_in(request, user)
        return Redirect("/")

    @post("/sign-in/dev", name="sign-in-dev")
    async def development(
        self, request: Request[Any, Any, Any], settings: WebSettings, gateway: Gateway, data: Form
    ) -> Any:
        if not (settings.dev_sign_in and settings.dev_mode):
            return _sign_in_page(settings, "The development sign-in is off here.", 404)
        try:
            role = Role.parse(data.get("role", ""))
        except ValueError:
            return _sign_in_page(settings, f"Unknown role {data.get('role')!r}.", 400)
        sub = data.get("sub", "").strip()
        if not sub:
            return _sign_in_page(settings, "Name the user id to sign in as (for example u-42).", 400)
        squad = data.get("squad", "").strip() or None
        token = mint_token(settings.jwt, sub=sub, role=role, squad=squad, name=sub, ttl_seconds=DEV_TOKEN_SECONDS)
        try:
            user = await user_from_token(gateway, token, time.time() + DEV_TOKEN_SECONDS)
        except ApiProblem as problem:
            return _sign_in_page(settings, f"The gateway refused the development token: {problem}", 403)
        sign_in(request, user)
        return Redirect("/")

    @get("/account", name="account")
    async def account(self, request: Request[Any, Any, Any], gateway: Gateway) -> Template:
        """Who the gateway says the signed-in person is."""
        user = require_user(request)
        me = await gateway.get("/me", user.token)
        return await page(gateway, user, "account.html", me=me, title="Your account")

    @post("/sign-out", name="sign-out")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/sign-in")


def _expiry(token: str, fallback: float) -> float:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return float(claims.get("exp", fallback))
    except jwt.InvalidTokenError:
        return fallback
