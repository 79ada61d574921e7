"""Body size, rate limit, CORS, unreachable and slow services, and live event streams."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from clientpulse.shared.errors import PROBLEM_JSON

Auth = Callable[..., dict[str, str]]
StartGateway = Callable[..., httpx.Client]


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == status
    return problem


def test_a_body_over_the_limit_is_refused_from_its_content_length(start_gateway: StartGateway, auth: Auth) -> None:
    gateway = start_gateway(max_body_bytes=1024)
    assert gateway.post("/api/v1/companies", headers=auth("manager"), content=b"x" * 1024).status_code == 200
    assert_problem(gateway.post("/api/v1/companies", headers=auth("manager"), content=b"x" * 1025), 413)


def test_a_chunked_body_over_the_limit_is_refused_while_reading(start_gateway: StartGateway, auth: Auth) -> None:
    gateway = start_gateway(max_body_bytes=1024)

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    response = gateway.post("/api/v1/companies", headers=auth("manager"), content=chunks())
    assert_problem(response, 413)


def test_a_caller_over_the_rate_limit_gets_429_with_retry_after(start_gateway: StartGateway, auth: Auth) -> None:
    gateway = start_gateway(rate_limit_per_minute=6, rate_limit_burst=2)
    caller = auth("manager", sub="u-busy")
    assert [gateway.get("/api/v1/clients", headers=caller).status_code for _ in range(2)] == [200, 200]
    limited = gateway.get("/api/v1/clients", headers=caller)
    problem = assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) == 10
    assert "u-busy" in str(problem["detail"])
    assert gateway.get("/api/v1/clients", headers=auth("manager", sub="u-calm")).status_code == 200


def test_a_preflight_from_a_configured_origin_is_allowed(gateway: httpx.Client) -> None:
    response = gateway.options(
        "/api/v1/clients",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "PATCH" in response.headers["access-control-allow-methods"]


def test_a_preflight_from_another_origin_is_not_allowed(gateway: httpx.Client) -> None:
    response = gateway.options(
        "/api/v1/clients",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_a_cross_origin_answer_exposes_the_request_id_and_location(gateway: httpx.Client, auth: Auth) -> None:
    response = gateway.get("/api/v1/clients", headers=auth("manager") | {"Origin": "http://127.0.0.1:5173"})
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "location"} <= exposed


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_service_is_503_naming_it(start_gateway: StartGateway, auth: Auth, closed_port_url: str) -> None:
    gateway = start_gateway(tiering_url=closed_port_url)
    problem = assert_problem(gateway.get("/api/v1/tiering/framework", headers=auth("manager")), 503)
    assert problem["detail"] == "the tiering service is unavailable; try again shortly"
    assert gateway.get("/api/v1/clients", headers=auth("manager")).status_code == 200


def test_a_service_slower_than_the_timeout_is_504(start_gateway: StartGateway, auth: Auth) -> None:
    gateway = start_gateway(upstream_timeout=0.2)
    started = time.monotonic()
    problem = assert_problem(gateway.get("/api/v1/clients/slow?seconds=1", headers=auth("manager")), 504)
    assert time.monotonic() - started < 0.9
    assert problem["detail"] == "the clients service did not answer in time"


def test_an_event_stream_is_relayed_as_it_happens(start_gateway: StartGateway, auth: Auth, streams: Any) -> None:
    # A total timeout shorter than the stream proves the stream route is exempt from it.
    gateway = start_gateway(upstream_timeout=0.2)
    stream_id = uuid.uuid4().hex
    release, finished = streams.open(stream_id)
    url = f"/api/v1/me/notifications/stream?stream={stream_id}"
    with gateway.stream("GET", url, headers=auth("employee") | {"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.iter_raw()
        assert next(chunks) == b"data: first\n\n"
        assert not finished.is_set(), "the first event arrived only after the service finished"
        time.sleep(0.3)
        release.set()
        assert b"".join(chunks) == b"data: second\n\n"
    assert finished.is_set()
