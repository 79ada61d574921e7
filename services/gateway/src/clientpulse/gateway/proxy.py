"""Forwarding one request to the service that answers it, over one shared pooled aiohttp session.

Headers cross in both directions through allowlists, so hop-by-hop headers (``Connection``,
``Keep-Alive``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-*``, ``TE``, ``Trailer``) and anything a
``Connection`` header names never cross. The caller's ``Authorization`` header stays at the gateway:
services get the gateway's signed identity assertion instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from litestar import Request, Response
from litestar.response import Stream
from opentelemetry import propagate
from prometheus_client import Histogram
from yarl import URL

from clientpulse.gateway.errors import UpstreamBroken, UpstreamTimeout, UpstreamUnavailable, describe
from clientpulse.gateway.routes import Route
from clientpulse.shared.errors import ProblemError
from clientpulse.shared.identity import IDENTITY_HEADER, REQUEST_ID_HEADER, Identity, IdentitySigner
from clientpulse.shared.shutdown import PROCESS_SHUTDOWN, SSE_FAREWELL, until_shutdown

FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "if-none-match",
    "last-event-id",
    "traceparent",
    "tracestate",
)
RETURNED_RESPONSE_HEADERS = ("content-type", "location", "etag", "retry-after", "cache-control")
EVENT_STREAM = "text/event-stream"

UPSTREAM_SECONDS = Histogram(
    "clientpulse_gateway_upstream_seconds",
    "Time from sending a request to a service until its response headers arrive "
    "(status_class 2xx..5xx, or error when no response came)",
    ["service", "status_class"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_log = logging.getLogger(__name__)


def _connection_tokens(value: str | None) -> frozenset[str]:
    """Header names a ``Connection`` header declares hop-by-hop."""
    if not value:
        return frozenset()
    return frozenset(token.strip().lower() for token in value.split(","))


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


class UpstreamProxy:
    """Sends requests to the services and turns their answers into gateway responses."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_urls: Mapping[str, str],
        identity_secret: str,
        connect_timeout: float,
        total_timeout: float,
    ) -> None:
        self.session = session
        self.base_urls = dict(base_urls)
        self._sign_identity = IdentitySigner(identity_secret)
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=None)

    async def forward(
        self,
        request: Request[Any, Any, Any],
        route: Route,
        identity: Identity | None,
        body: bytes,
        request_id: str,
    ) -> Response[Any]:
        """Send the request to ``route.service`` and relay its answer (streamed for event streams)."""
        scope = request.scope
        query = scope.get("query_string", b"")
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        target = self.base_urls[route.service] + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        started = time.perf_counter()
        try:
            upstream = await self.session.request(
                scope["method"],
                URL(target, encoded=True),
                headers=self._upstream_headers(request, identity, request_id),
                data=body or None,
                timeout=self._stream_timeout if route.streams else self._timeout,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            UPSTREAM_SECONDS.labels(route.service, "error").observe(time.perf_counter() - started)
            raise _problem_for(route.service, exc) from exc
        UPSTREAM_SECONDS.labels(route.service, _status_class(upstream.status)).observe(time.perf_counter() - started)

        headers = _client_headers(upstream.headers)
        if upstream.content_type == EVENT_STREAM:
            # Tell buffering reverse proxies (nginx ingress) to pass events straight through.
            headers["x-accel-buffering"] = "no"
            return Stream(_relay(upstream, route.service), status_code=upstream.status, headers=headers)
        try:
            payload = await upstream.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _problem_for(route.service, exc) from exc
        finally:
            upstream.release()
        return Response(payload, status_code=upstream.status, headers=headers)

    def _upstream_headers(
        self, request: Request[Any, Any, Any], identity: Identity | None, request_id: str
    ) -> dict[str, str]:
        incoming = request.headers
        hop_by_hop = _connection_tokens(incoming.get("connection"))
        headers = {
            name: value
            for name in FORWARDED_REQUEST_HEADERS
            if name not in hop_by_hop and (value := incoming.get(name)) is not None
        }
        headers[REQUEST_ID_HEADER] = request_id
        client = request.scope.get("client")
        if client:
            prior = incoming.get("x-forwarded-for")
            headers["X-Forwarded-For"] = f"{prior}, {client[0]}" if prior else client[0]
        # Behind a TLS-terminating ingress the ingress's X-Forwarded-Proto is the caller's scheme.
        headers["X-Forwarded-Proto"] = incoming.get("x-forwarded-proto") or request.scope.get("scheme", "http")
        if identity is not None:
            headers[IDENTITY_HEADER] = self._sign_identity(identity)
        # The current span (the gateway's server span) becomes the parent of the service's span.
        propagate.inject(headers)
        return headers


def _client_headers(upstream_headers: Mapping[str, str]) -> dict[str, str]:
    hop_by_hop = _connection_tokens(upstream_headers.get("Connection"))
    return {
        name: value
        for name in RETURNED_RESPONSE_HEADERS
        if name not in hop_by_hop and (value := upstream_headers.get(name)) is not None
    }


async def _relay(upstream: aiohttp.ClientResponse, service: str) -> AsyncIterator[bytes]:
    """Pass an event stream through chunk by chunk; closes the upstream side when the caller leaves.

    When the gateway is stopping, the stream ends at once with a reconnect hint (written only between
    two events: a hint inside a half-relayed event would corrupt it; the browser reconnects anyway).
    """
    finished = False
    between_events = True

    def farewell() -> bytes | None:
        return SSE_FAREWELL if between_events else None

    try:
        async for chunk in until_shutdown(upstream.content.iter_any(), farewell):
            between_events = chunk.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))
            yield chunk
        finished = not PROCESS_SHUTDOWN.requested
    except (aiohttp.ClientError, TimeoutError) as exc:
        _log.warning("the %s service's event stream broke off: %s", service, describe(exc))
    finally:
        if finished:
            upstream.release()
        else:
            upstream.close()


def _problem_for(service: str, exc: BaseException) -> ProblemError:
    """The problem a caller gets when a service cannot answer."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        _log.warning("the %s service is unreachable: %s", service, describe(exc))
        return UpstreamUnavailable(f"the {service} service is unavailable; try again shortly")
    if isinstance(exc, TimeoutError):
        _log.warning("the %s service did not answer in time: %s", service, describe(exc))
        return UpstreamTimeout(f"the {service} service did not answer in time")
    _log.warning("the %s service broke the exchange: %s", service, describe(exc))
    return UpstreamBroken(f"the {service} service closed the connection without a valid answer")
