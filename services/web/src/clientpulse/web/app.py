"""The console's Litestar app: server-rendered pages on the gateway API, a session cookie, CSRF-checked forms."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.prometheus import PrometheusController
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from clientpulse.shared.http_telemetry import OPS_PATHS, request_telemetry
from clientpulse.web import formatting
from clientpulse.web.auth import AuthController
from clientpulse.web.clients import ClientActions, ClientPages
from clientpulse.web.companies import CompanyPages
from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.notifications import NotificationPages
from clientpulse.web.oidc import OidcClient
from clientpulse.web.session import current_user, session_config
from clientpulse.web.settings import WebSettings

HERE = Path(__file__).parent
_UNOBSERVED_PATHS = [*OPS_PATHS, "/static/"]


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Redirect:
    user = current_user(request)
    if user is None:
        return Redirect("/sign-in")
    return Redirect("/clients" if user.sees_clients else "/notifications")


@get("/healthz", name="liveness")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@get("/readyz", name="readiness")
async def readyz(gateway: Gateway) -> Response[Any]:
    """Ready when the gateway answers: every page needs it."""
    if await gateway.alive():
        return Response({"status": "ok"})
    return Response(
        {"status": "not ready", "detail": f"the gateway at {gateway.base_url} does not answer"}, status_code=503
    )


def _problem_page(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[Any]:
    user = current_user(request)
    if problem.status == 401:
        # The gateway no longer accepts the token (expired, or the keys changed): sign in again.
        request.clear_session()
        return Redirect("/sign-in")
    return Template(
        "problem.html",
        context={"user": user, "problem": problem, "attention": None, "unread": None},
        status_code=problem.status,
    )


def _signed_out(request: Request[Any, Any, Any], _: NotAuthorizedException) -> Response[Any]:
    return Redirect("/sign-in")


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    problem = ApiProblem(exc.status_code, "This page cannot be shown", str(exc.detail))
    return Template(
        "problem.html",
        context={"user": current_user(request), "problem": problem, "attention": None, "unread": None},
        status_code=exc.status_code,
    )


def _lifespan(settings: WebSettings, state: dict[str, Any]) -> Any:
    """Open the gateway's and the identity provider's HTTP clients for the app's life."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        state["gateway"] = Gateway(settings.gateway_url, timeout=settings.request_timeout)
        http = httpx.AsyncClient(timeout=settings.request_timeout)
        secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        state["oidc"] = (
            OidcClient(settings.oidc_issuer, settings.oidc_client_id, secret, http) if settings.oidc_issuer else None
        )
        try:
            yield
        finally:
            await state["gateway"].close()
            await http.aclose()

    return lifespan


def create_app(settings: WebSettings | None = None) -> Litestar:
    """The console app for these settings."""
    settings = settings or WebSettings()
    state: dict[str, Any] = {}

    csrf_secret = hashlib.sha256(b"csrf:" + settings.session_secret.get_secret_value().encode()).hexdigest()
    return Litestar(
        route_handlers=[
            home,
            healthz,
            readyz,
            PrometheusController,
            AuthController,
            ClientPages,
            ClientActions,
            CompanyPages,
            NotificationPages,
            create_static_files_router(path="/static", directories=[HERE / "static"], name="static"),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "gateway": Provide(lambda: state["gateway"], sync_to_thread=False),
            "oidc": Provide(lambda: state.get("oidc"), sync_to_thread=False),
        },
        template_config=TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: formatting.register(engine.engine),
        ),
        # The same spans and metrics as the services', so one dashboard covers all.
        middleware=[
            session_config(settings).middleware,
            request_telemetry("clientpulse_web", exclude=_UNOBSERVED_PATHS),
        ],
        csrf_config=CSRFConfig(
            secret=csrf_secret,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            safe_methods={"GET", "HEAD"},
        ),
        exception_handlers={
            ApiProblem: _problem_page,  # type: ignore[dict-item]
            NotAuthorizedException: _signed_out,
            HTTPException: _http_error,
        },
        lifespan=[_lifespan(settings, state)],
        openapi_config=None,
    )


def app_from_environment() -> Litestar:
    """The app with settings from the environment (what ``serve`` runs)."""
    return create_app(WebSettings())
