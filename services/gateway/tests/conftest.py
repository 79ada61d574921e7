"""Real servers for the gateway tests: echo services, a JWKS endpoint and gateways, on loopback ports.

Every server runs under uvicorn in its own thread, so the tests speak plain HTTP to them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar, Request, Response, get, route
from litestar.response import Stream

from clientpulse.gateway.app import create_app
from clientpulse.gateway.settings import GatewaySettings
from clientpulse.shared.tokens import JwtSettings

IDENTITY_SECRET = "gateway-tests-identity-secret-0123456789"
JWT_SECRET = "gateway-tests-jwt-secret-0123456789abcdef"
ISSUER = "clientpulse-tests"
AUDIENCE = "clientpulse"
SERVICES = ("clients", "tiering", "results", "insights", "notifications")
UPSTREAM_PROBLEM = b'{"type":"https://clientpulse.dev/problems/not-found","title":"Not found","status":404}'


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


class StreamControl:
    """Lets a test hold an upstream event stream open until it has seen the first event."""

    def __init__(self) -> None:
        self.release: dict[str, threading.Event] = {}
        self.finished: dict[str, threading.Event] = {}

    def open(self, stream_id: str) -> tuple[threading.Event, threading.Event]:
        self.release[stream_id] = threading.Event()
        self.finished[stream_id] = threading.Event()
        return self.release[stream_id], self.finished[stream_id]


def echo_service(name: str, streams: StreamControl) -> Litestar:
    """A stand-in service that answers with what it received; a few paths behave specially."""

    async def events(stream_id: str) -> Any:
        yield b"data: first\n\n"
        release = streams.release[stream_id]
        deadline = time.monotonic() + 5
        while not release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        yield b"data: second\n\n"
        streams.finished[stream_id].set()

    @route("/{path:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"], name="echo")
    async def echo(request: Request[Any, Any, Any]) -> Response[Any]:
        path = request.scope["path"]
        if path.endswith("/stream"):
            stream_id = request.query_params["stream"]
            return Stream(
                events(stream_id),
                status_code=200,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        if path.endswith("/slow"):
            await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        if path.endswith("/unchanged") and request.headers.get("if-none-match") == '"v1"':
            return Response(b"", status_code=304, headers={"ETag": '"v1"'})
        if path.endswith("/deleted"):
            return Response(b"", status_code=204)
        if path.endswith("/problem"):
            return Response(UPSTREAM_PROBLEM, status_code=404, media_type="application/problem+json")
        if path.endswith("/created"):
            headers = {
                "Location": "/api/v1/companies/c-9",
                "ETag": '"v1"',
                "Cache-Control": "no-store",
                "Retry-After": "3",
                "Set-Cookie": "session=upstream",
                "X-Internal": "not for callers",
            }
            return Response({"id": "c-9"}, status_code=201, headers=headers)
        body = await request.body()
        return Response(
            {
                "service": name,
                "method": request.method,
                "path": path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.scope["query_string"].decode("latin-1"),
                "headers": {key: value for key, value in request.headers.items()},
                "body": body.decode("latin-1"),
            },
            status_code=200,
        )

    @get("/healthz", name="healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([echo, healthz], openapi_config=None, logging_config=None)


@pytest.fixture(scope="session")
def identity_secret() -> str:
    """The secret the gateway signs forwarded identities with (the services hold it too)."""
    return IDENTITY_SECRET


@pytest.fixture(scope="session")
def upstream_problem() -> bytes:
    """The body an echo service answers ``.../problem`` with."""
    return UPSTREAM_PROBLEM


@pytest.fixture(scope="session")
def streams() -> StreamControl:
    return StreamControl()


@pytest.fixture(scope="session")
def upstreams(streams: StreamControl) -> Iterator[dict[str, str]]:
    """One echo service per routing-table service, so tests see which service answered."""
    with (
        serve(echo_service("clients", streams)) as clients,
        serve(echo_service("tiering", streams)) as tiering,
        serve(echo_service("results", streams)) as results,
        serve(echo_service("insights", streams)) as insights,
        serve(echo_service("notifications", streams)) as notifications,
    ):
        yield dict(zip(SERVICES, (clients, tiering, results, insights, notifications), strict=True))


def hs256_jwt_settings() -> JwtSettings:
    return JwtSettings(issuer=ISSUER, audience=AUDIENCE, algorithms=["HS256"], secret=JWT_SECRET, jwks_url=None)


@pytest.fixture(scope="session")
def gateway_settings(upstreams: dict[str, str]) -> Callable[..., GatewaySettings]:
    """Settings for a gateway in front of the echo services; keyword arguments override."""

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {f"{service}_url": url for service, url in upstreams.items()}
        values |= {"identity_secret": IDENTITY_SECRET, "jwt": hs256_jwt_settings(), "log_json": False}
        return GatewaySettings(**(values | overrides))

    return make


@pytest.fixture(scope="session")
def gateway(gateway_settings: Callable[..., GatewaySettings]) -> Iterator[httpx.Client]:
    """A client for a gateway with default limits in front of the echo services."""
    with (
        serve(create_app(gateway_settings())) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        yield client


@pytest.fixture
def start_gateway(gateway_settings: Callable[..., GatewaySettings]) -> Iterator[Callable[..., httpx.Client]]:
    """Start a gateway with overridden settings for one test; it stops when the test ends."""
    with ExitStack() as running:

        def start(**overrides: Any) -> httpx.Client:
            base_url = running.enter_context(serve(create_app(gateway_settings(**overrides))))
            return running.enter_context(httpx.Client(base_url=base_url, timeout=5))

        yield start


def make_token(
    role: str | None = "manager",
    *,
    key: Any = JWT_SECRET,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A signed end-user token; a claim passed as None is left out."""
    now = int(time.time())
    payload = {
        "sub": f"u-{uuid.uuid4().hex[:8]}",
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    } | claims
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


@pytest.fixture(scope="session")
def token() -> Callable[..., str]:
    """Makes a signed end-user token (see ``make_token``)."""
    return make_token


@pytest.fixture(scope="session")
def auth() -> Callable[..., dict[str, str]]:
    """Makes an ``Authorization: Bearer`` header for a fresh token (see ``make_token``)."""

    def headers(role: str | None = "manager", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(role, **claims)}"}

    return headers


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
    }


@pytest.fixture(scope="session")
def jwks_url(signing_keys: dict[str, Any]) -> Iterator[str]:
    """An identity provider's JWKS endpoint publishing the RSA and EC public keys."""
    rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_keys["rsa"].public_key(), as_dict=True)
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(signing_keys["ec"].public_key(), as_dict=True)
    key_set = {"keys": [rsa_jwk | {"kid": "rsa-1", "use": "sig"}, ec_jwk | {"kid": "ec-1", "use": "sig"}]}

    @get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return key_set

    with serve(Litestar([jwks], openapi_config=None, logging_config=None)) as base_url:
        yield f"{base_url}/.well-known/jwks.json"


@pytest.fixture(scope="session")
def asymmetric_gateway(gateway_settings: Callable[..., GatewaySettings], jwks_url: str) -> Iterator[httpx.Client]:
    """A gateway that accepts RS256 and ES256 tokens signed by the keys in the JWKS."""
    jwt_settings = JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256", "ES256"], jwks_url=jwks_url, secret=None
    )
    with (
        serve(create_app(gateway_settings(jwt=jwt_settings))) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        yield client
