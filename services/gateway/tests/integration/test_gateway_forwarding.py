"""What reaches the services and what comes back: role access, the signed identity, headers, ids."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from clientpulse.shared.errors import PROBLEM_JSON
from clientpulse.shared.identity import IDENTITY_HEADER, IdentityError, Role, verify_identity

Auth = Callable[..., dict[str, str]]


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize("role", ["lead", "employee"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/clients/x",
        "/api/v1/clients",
        "/api/v1/companies",
        "/api/v1/me/attention",
        "/api/v1/tiering/framework",
    ],
)
def test_lead_and_employee_have_no_clients_module(gateway: httpx.Client, auth: Auth, role: str, path: str) -> None:
    problem = assert_problem(gateway.get(path, headers=auth(role)), 403)
    assert "clients module" in str(problem["detail"])


@pytest.mark.parametrize("role", ["executive", "head", "manager"])
def test_executive_head_and_manager_reach_the_clients_service(gateway: httpx.Client, auth: Auth, role: str) -> None:
    response = gateway.get("/api/v1/clients/x", headers=auth(role))
    assert response.status_code == 200
    assert response.json()["service"] == "clients"


def test_an_employee_reaches_their_notifications(gateway: httpx.Client, auth: Auth) -> None:
    response = gateway.get("/api/v1/me/notifications", headers=auth("employee"))
    assert response.status_code == 200
    assert response.json()["service"] == "notifications"
    assert response.json()["path"] == "/api/v1/me/notifications"


@pytest.mark.parametrize("role", ["head", "manager", "lead", "employee"])
@pytest.mark.parametrize(
    "path", ["/api/v1/webhooks", "/api/v1/webhooks/w-1/deliveries", "/api/v1/tiering/recalculations"]
)
def test_only_executives_manage_webhooks_and_recalculations(
    gateway: httpx.Client, auth: Auth, role: str, path: str
) -> None:
    problem = assert_problem(gateway.get(path, headers=auth(role)), 403)
    assert "only the executive role" in str(problem["detail"])


@pytest.mark.parametrize(
    ("path", "service"),
    [("/api/v1/webhooks", "notifications"), ("/api/v1/tiering/recalculations", "tiering")],
)
def test_an_executive_manages_webhooks_and_recalculations(
    gateway: httpx.Client, auth: Auth, path: str, service: str
) -> None:
    response = gateway.post(path, headers=auth("executive"), json={})
    assert response.status_code == 200
    assert response.json()["service"] == service


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/clients/c-1/tiering/history", "tiering"),
        ("/api/v1/clients/c-1/connections", "results"),
        ("/api/v1/clients/c-1/results/metrics", "results"),
        ("/api/v1/clients/c-1/insights/summary", "insights"),
        ("/api/v1/clients/c-1/insights/creatives", "insights"),
        ("/api/v1/clients/c-1/results/creatives", "results"),
        ("/api/v1/groups/c-1/portfolio", "tiering"),
        ("/api/v1/groups/c-1/members", "clients"),
        ("/api/v1/me/attention", "clients"),
    ],
)
def test_requests_reach_the_service_the_table_names(gateway: httpx.Client, auth: Auth, path: str, service: str) -> None:
    response = gateway.get(path, headers=auth("manager"))
    assert response.status_code == 200
    assert response.json()["service"] == service


def test_the_oauth_callback_needs_no_token_and_forwards_no_identity(gateway: httpx.Client) -> None:
    response = gateway.get("/api/v1/oauth/shopify/callback?code=abc&state=s-1")
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["service"] == "results"
    assert echoed["query"] == "code=abc&state=s-1"
    assert IDENTITY_HEADER.lower() not in echoed["headers"]


def test_the_forwarded_identity_is_signed_for_the_services(
    gateway: httpx.Client, auth: Auth, identity_secret: str
) -> None:
    response = gateway.get("/api/v1/clients", headers=auth("manager", sub="u-42", squad="s-1", name="Ada"))
    assertion = response.json()["headers"][IDENTITY_HEADER.lower()]
    identity = verify_identity(assertion, identity_secret)
    assert (identity.sub, identity.role, identity.squad, identity.name) == (
        "u-42",
        Role.MANAGER,
        "s-1",
        "Ada",
    )

    with pytest.raises(IdentityError):
        verify_identity(assertion, "some-other-secret-that-is-long-enough")
    header, payload, signature = assertion.split(".")
    promoted = payload.replace(payload[5], "A" if payload[5] != "A" else "B", 1)
    with pytest.raises(IdentityError):
        verify_identity(f"{header}.{promoted}.{signature}", identity_secret)


def test_the_callers_credentials_stay_at_the_gateway(gateway: httpx.Client, auth: Auth) -> None:
    headers = auth("manager") | {
        "Cookie": "session=abc",
        "Proxy-Authorization": "Basic eA==",
        "X-Custom": "1",
    }
    forwarded = gateway.get("/api/v1/clients", headers=headers).json()["headers"]
    assert "authorization" not in forwarded
    assert "cookie" not in forwarded
    assert "proxy-authorization" not in forwarded
    assert "x-custom" not in forwarded


def test_request_details_and_content_headers_are_forwarded(gateway: httpx.Client, auth: Auth) -> None:
    headers = auth("manager") | {
        "Accept": "application/json",
        "Accept-Language": "de-DE",
        "If-None-Match": '"v7"',
        "Last-Event-ID": "41",
        "Content-Type": "application/json",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "X-Forwarded-For": "203.0.113.9",
    }
    response = gateway.patch("/api/v1/clients/a%2Fb?fields=name&q=a%20b", headers=headers, content=b'{"name":"N"}')
    echoed = response.json()
    assert echoed["method"] == "PATCH"
    assert echoed["raw_path"] == "/api/v1/clients/a%2Fb"
    assert echoed["query"] == "fields=name&q=a%20b"
    assert echoed["body"] == '{"name":"N"}'
    forwarded = echoed["headers"]
    assert forwarded["accept"] == "application/json"
    assert forwarded["accept-language"] == "de-DE"
    assert forwarded["if-none-match"] == '"v7"'
    assert forwarded["last-event-id"] == "41"
    assert forwarded["content-type"] == "application/json"
    assert forwarded["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert forwarded["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert forwarded["x-forwarded-proto"] == "http"


def test_headers_named_in_connection_are_not_forwarded(gateway: httpx.Client, auth: Auth) -> None:
    headers = auth("manager") | {"Connection": "keep-alive, Accept-Language", "Accept-Language": "fr"}
    forwarded = gateway.get("/api/v1/clients", headers=headers).json()["headers"]
    assert "accept-language" not in forwarded


def test_a_request_id_is_generated_echoed_and_forwarded(gateway: httpx.Client, auth: Auth) -> None:
    response = gateway.get("/api/v1/clients", headers=auth("manager"))
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.json()["headers"]["x-request-id"] == request_id


def test_a_callers_sane_request_id_is_kept(gateway: httpx.Client, auth: Auth) -> None:
    response = gateway.get("/api/v1/clients", headers=auth("manager") | {"X-Request-ID": "web-7f3a:42"})
    assert response.headers["x-request-id"] == "web-7f3a:42"
    assert response.json()["headers"]["x-request-id"] == "web-7f3a:42"


@pytest.mark.parametrize("offered", ["x" * 129, "has spaces", "<script>", ""])
def test_an_unusable_request_id_is_replaced(gateway: httpx.Client, auth: Auth, offered: str) -> None:
    response = gateway.get("/api/v1/clients", headers=auth("manager") | {"X-Request-ID": offered})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_errors_made_by_the_gateway_carry_the_request_id(gateway: httpx.Client) -> None:
    response = gateway.get("/api/v1/clients", headers={"X-Request-ID": "req-401"})
    assert_problem(response, 401)
    assert response.headers["x-request-id"] == "req-401"


def test_the_services_answer_headers_are_returned_and_others_dropped(gateway: httpx.Client, auth: Auth) -> None:
    response = gateway.post("/api/v1/companies/c-1/created", headers=auth("manager"), json={"name": "Acme"})
    assert response.status_code == 201
    assert response.json() == {"id": "c-9"}
    assert response.headers["location"] == "/api/v1/companies/c-9"
    assert response.headers["etag"] == '"v1"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["retry-after"] == "3"
    assert "set-cookie" not in response.headers
    assert "x-internal" not in response.headers


def test_a_services_problem_is_passed_through_unchanged(
    gateway: httpx.Client, auth: Auth, upstream_problem: bytes
) -> None:
    response = gateway.get("/api/v1/clients/problem", headers=auth("manager"))
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.content == upstream_problem


def test_answers_without_a_body_are_relayed(gateway: httpx.Client, auth: Auth) -> None:
    deleted = gateway.delete("/api/v1/clients/c-1/notes/deleted", headers=auth("manager"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    unchanged = gateway.get("/api/v1/clients/unchanged", headers=auth("manager") | {"If-None-Match": '"v1"'})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", '"v1"')


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1", "/api/v1/groups/c-1", "/api/v1/clients/%2E%2E/webhooks"]
)
def test_a_path_no_route_serves_is_404(gateway: httpx.Client, auth: Auth, path: str) -> None:
    assert_problem(gateway.get(path, headers=auth("executive")), 404)


def test_a_verb_the_gateway_does_not_serve_is_405(gateway: httpx.Client, auth: Auth) -> None:
    assert_problem(gateway.post("/api/v1/me", headers=auth("executive")), 405)
