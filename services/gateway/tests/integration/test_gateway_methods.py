"""Methods the published document does not declare: 405 with ``Allow``, before the token is looked at."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from clientpulse.shared.errors import PROBLEM_JSON

Auth = Callable[..., dict[str, str]]


def assert_method_not_allowed(response: httpx.Response, allow: str) -> None:
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == allow
    assert response.json()["status"] == 405


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/companies", "GET, POST, OPTIONS"),
        ("DELETE", "/api/v1/clients/c-1", "GET, PATCH, OPTIONS"),
        ("TRACE", "/api/v1/clients/c-1/qbrs", "GET, POST, OPTIONS"),
        ("POST", "/api/v1/me", "GET, OPTIONS"),
        ("GET", "/api/v1/me/notifications/read-all", "POST, OPTIONS"),
        ("HEAD", "/api/v1/tiering/framework", "GET, OPTIONS"),
    ],
)
def test_an_undeclared_method_is_405_listing_the_declared_ones(
    gateway: httpx.Client, auth: Auth, method: str, path: str, allow: str
) -> None:
    response = gateway.request(method, path, headers=auth("executive"))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert_method_not_allowed(response, allow)


def test_an_undeclared_method_is_405_even_without_a_token(gateway: httpx.Client) -> None:
    assert_method_not_allowed(gateway.put("/api/v1/clients/c-1"), "GET, PATCH, OPTIONS")


def test_a_declared_method_without_a_token_is_still_401(gateway: httpx.Client) -> None:
    assert gateway.patch("/api/v1/clients/c-1", json={}).status_code == 401


def test_options_lists_the_declared_methods(gateway: httpx.Client) -> None:
    response = gateway.options("/api/v1/clients/c-1/notes/n-1")
    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, PATCH, OPTIONS"


def test_a_path_the_document_does_not_know_is_not_found(gateway: httpx.Client, auth: Auth) -> None:
    assert gateway.request("TRACE", "/api/v1/nowhere", headers=auth("executive")).status_code == 404
