"""The gateway's Litestar app: authenticate, check the role, route, forward; plus ops and the API document."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get, route
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.exceptions import MethodNotAllowedException
from litestar.plugins.prometheus import PrometheusController

from clientpulse.gateway.methods import DeclaredMethods
from clientpulse.gateway.openapi import load_committed_document, render_schema_page
from clientpulse.gateway.request_ids import RequestIdMiddleware, current_request_id, log_request_ids
from clientpulse.gateway.routes import API_PREFIX, GATEWAY, ME_ROUTE, ROUTING_TABLE
from clientpulse.gateway.runtime import Gateway, open_gateway
from clientpulse.gateway.settings import GatewaySettings
from clientpulse.shared.errors import NotFound, exception_handlers, problem_response
from clientpulse.shared.http_telemetry import request_telemetry
from clientpulse.shared.identity import REQUEST_ID_HEADER
from clientpulse.shared.telemetry import configure_logging, configure_tracing

PROXIED_METHODS = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]
# Every method reaches a handler, so that one the document does not declare gets 405 with Allow.
ANSWERED_METHODS = [*PROXIED_METHODS, HttpMethod.HEAD, HttpMethod.OPTIONS, HttpMethod.TRACE]

_log = logging.getLogger(__name__)


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _undeclared_method_answer(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """OPTIONS, or 405 with ``Allow``, for a documented path, before any token is looked at."""
    declared: DeclaredMethods = request.app.state.declared_methods
    path = declared.for_path(request.scope["path"])
    if path is None:
        return None
    if request.method == HttpMethod.OPTIONS:
        return Response(None, status_code=204, headers={"Allow": path.allow})
    if request.method not in path.methods:
        raise MethodNotAllowedException(
            detail=f"{request.method} is not a method of {path.template}; it allows {path.allow}",
            headers={"Allow": path.allow},
        )
    return None


@route(f"{API_PREFIX}/{{path:path}}", http_method=ANSWERED_METHODS, name="forward")
async def forward_to_service(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send an API request to the service the routing table names, as the authenticated caller."""
    if (answer := _undeclared_method_answer(request)) is not None:
        return answer
    gateway = _gateway(request)
    path = request.scope["path"]
    if request.method not in PROXIED_METHODS:
        raise NotFound(f"no API route matches {request.method} {path}")
    target = gateway.routes.match(path)
    if target is None or target.service == GATEWAY:
        raise NotFound(f"no API route matches {path}")
    identity = await gateway.admit(request, target)
    body = await request.body()
    return await gateway.proxy.forward(request, target, identity, body, current_request_id())


@route(f"{API_PREFIX}/me", http_method=ANSWERED_METHODS, name="me")
async def who_am_i(request: Request[Any, Any, Any]) -> Response[Any]:
    """The caller as the gateway sees them."""
    if (answer := _undeclared_method_answer(request)) is not None:
        return answer
    identity = await _gateway(request).authorize(request, ME_ROUTE)
    caller = {"sub": identity.sub, "role": identity.role.value, "squad": identity.squad, "name": identity.name}
    return Response(caller, status_code=200)


@get("/healthz", name="liveness")
async def liveness() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@get("/readyz", name="readiness")
async def readiness(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ready when the gateway itself can serve; each service's reachability is reported, not required."""
    blockers, upstreams = await _gateway(request).readiness()
    if blockers:
        return problem_response(
            503,
            title="Not ready",
            detail="; ".join(blockers),
            slug="not-ready",
            instance=request.url.path,
            extra={"upstreams": upstreams},
        )
    return Response({"status": "ok", "upstreams": upstreams})


@get("/schema/openapi.json", name="openapi-document", media_type=MediaType.JSON)
async def openapi_document(state: State) -> bytes:
    """The one public OpenAPI 3.1 document."""
    document: bytes = state.openapi_document
    return document


@get("/schema", name="schema-page", media_type=MediaType.HTML)
async def schema_page(state: State) -> str:
    """A plain page listing the API's operations."""
    page: str = state.schema_page
    return page


def cors_config(settings: GatewaySettings) -> CORSConfig:
    """Browsers of the configured origins may call every proxied method and read the headers a client needs."""
    return CORSConfig(
        allow_origins=settings.cors_origins,
        allow_methods=[*PROXIED_METHODS, HttpMethod.OPTIONS],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Accept",
            "Accept-Language",
            "If-None-Match",
            "Last-Event-ID",
            REQUEST_ID_HEADER,
            "traceparent",
            "tracestate",
        ],
        expose_headers=[REQUEST_ID_HEADER, "Location", "ETag", "Retry-After"],
    )


def create_app(settings: GatewaySettings | None = None) -> Litestar:
    """The gateway app; its upstream pool opens at startup and closes at shutdown."""
    settings = settings or GatewaySettings()
    unconfigured = ROUTING_TABLE.services() - settings.upstream_urls().keys()
    if unconfigured:
        raise ValueError(f"the routing table names services without a URL setting: {sorted(unconfigured)}")
    document = load_committed_document()

    @asynccontextmanager
    async def upstream_pool(app: Litestar) -> AsyncIterator[None]:
        async with open_gateway(settings, ROUTING_TABLE) as gateway:
            app.state.gateway = gateway
            _log.info("forwarding to %s", ", ".join(f"{s} at {u}" for s, u in gateway.proxy.base_urls.items()))
            yield

    return Litestar(
        route_handlers=[
            forward_to_service,
            who_am_i,
            liveness,
            readiness,
            openapi_document,
            schema_page,
            PrometheusController,
        ],
        # The same spans and metrics as the services', so one dashboard covers all.
        middleware=[RequestIdMiddleware, request_telemetry("clientpulse_gateway")],
        cors_config=cors_config(settings),
        exception_handlers=exception_handlers(),
        openapi_config=None,
        request_max_body_size=settings.max_body_bytes,
        lifespan=[upstream_pool],
        state=State(
            {
                "openapi_document": document,
                "schema_page": render_schema_page(json.loads(document)),
                "declared_methods": DeclaredMethods(json.loads(document)),
            }
        ),
        logging_config=None,  # telemetry.configure_logging owns the log format
        debug=False,
    )


def app_from_environment() -> Litestar:
    """The app as a process runs it: settings from the environment, JSON logs with request ids, traces."""
    settings = GatewaySettings()
    configure_logging(settings.service_name, level=settings.log_level, json_lines=settings.log_json)
    log_request_ids()
    configure_tracing(settings.service_name, settings.otlp_endpoint)
    return create_app(settings)
