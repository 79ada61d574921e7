"""Liveness, readiness, metrics and the served API document."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx

from clientpulse.shared.errors import PROBLEM_JSON
from clientpulse.shared.tokens import JwtSettings


def test_healthz_says_the_process_is_alive(gateway: httpx.Client) -> None:
    response = gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_service_without_depending_on_them(
    start_gateway: Callable[..., httpx.Client], upstreams: dict[str, str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    gateway = start_gateway(insights_url=closed)
    response = gateway.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["upstreams"]["insights"] == report["upstreams"]["insights"] | {
        "url": closed,
        "reachable": False,
    }
    assert report["upstreams"]["clients"] == {"url": upstreams["clients"], "reachable": True, "status": 200}


def test_without_the_identity_providers_keys_the_gateway_is_not_ready(
    start_gateway: Callable[..., httpx.Client], token: Callable[..., str], signing_keys: dict[str, Any]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        jwks_url = f"http://127.0.0.1:{sock.getsockname()[1]}/jwks.json"
    jwt_settings = JwtSettings(algorithms=["RS256"], jwks_url=jwks_url, secret=None)
    gateway = start_gateway(jwt=jwt_settings)
    response = gateway.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert jwks_url in response.json()["detail"]
    signed = token("executive", key=signing_keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    refused = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {signed}"})
    assert refused.status_code == 503
    assert refused.headers["content-type"] == PROBLEM_JSON


def test_metrics_include_upstream_latency_by_service(
    gateway: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    assert gateway.get("/api/v1/tiering/framework", headers=auth("head")).status_code == 200
    metrics = gateway.get("/metrics")
    assert metrics.status_code == 200
    assert 'clientpulse_gateway_upstream_seconds_count{service="tiering",status_class="2xx"}' in metrics.text
    assert 'clientpulse_http_requests_total{app_name="clientpulse_gateway"' in metrics.text


def test_the_api_document_is_openapi_3_1_with_the_gateways_own_paths(gateway: httpx.Client) -> None:
    response = gateway.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    assert "/api/v1/me" in document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_schema_page_links_the_document_and_lists_paths(gateway: httpx.Client) -> None:
    response = gateway.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/schema/openapi.json"' in response.text
    assert "<code>/api/v1/me</code>" in response.text
