"""Every operation of the published OpenAPI document × every caller (docs/access.md, "How it is proven").

The cases come from the document the gateway publishes, the expected answers from ``matrix.MATRIX``: an
operation without a row fails, so no route reaches the public API without a decision about who may call it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from matrix import MATRIX, Scope, expected
from world import CALLERS, UNKNOWN_ID, Caller, World

pytestmark = pytest.mark.e2e

DOCUMENT = Path(__file__).parents[2] / "services/gateway/src/clientpulse/gateway/openapi.json"
METHODS = ("get", "put", "post", "patch", "delete")


def published_operations() -> list[str]:
    """``METHOD /path`` of every operation in the committed document."""
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item if method in METHODS]


OPERATIONS = published_operations()


def test_the_matrix_lists_exactly_the_published_operations() -> None:
    assert sorted(set(OPERATIONS) - set(MATRIX)) == [], "operations without a row in tests/access/matrix.py"
    assert sorted(set(MATRIX) - set(OPERATIONS)) == [], "rows for operations the gateway no longer publishes"


def send(world: World, caller: Caller, key: str, path: dict[str, str], params: dict, body: Any) -> httpx.Response:
    method, template = key.split(" ", 1)
    url = template.format(**path)
    with world.http(caller) as http:
        if key.endswith("/stream"):
            with http.stream(method, url, params=params) as streamed:
                return httpx.Response(streamed.status_code, headers=streamed.headers)
        return http.request(method, url, params=params, json=body)


def unknown_variant(scope: Scope, path: dict[str, str]) -> tuple[dict[str, str], str]:
    """The same request about a target that does not exist, and the id it replaced."""
    name = (
        {"client_id": "client_id", "company_id": "company_id"} if scope is Scope.CLIENT else {"prompt_id": "prompt_id"}
    )
    key = next(k for k in name if k in path)
    return {**path, key: UNKNOWN_ID}, path[key]


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
@pytest.mark.parametrize("key", OPERATIONS)
def test_access(world: World, key: str, caller: Caller) -> None:
    operation = MATRIX.get(key)
    assert operation is not None, f"{key} is published but has no row in tests/access/matrix.py"
    request = operation.prepare(world, caller)
    answer = send(world, caller, key, request.path, request.params, request.json)
    want = expected(operation, caller)
    if want == "hidden":
        path, real_id = unknown_variant(operation.scope, request.path)
        unknown = send(world, caller, key, path, request.params, request.json)
        assert (answer.status_code, unknown.status_code) == (404, 404), (answer.text, unknown.text)
        hidden, absent = answer.json(), unknown.json()
        assert hidden.keys() == absent.keys()
        assert json.dumps(hidden).replace(real_id, UNKNOWN_ID) == json.dumps(absent)
        return
    assert answer.status_code in want, f"{caller.name} {key}: {answer.status_code} {answer.text[:300]}"
    if answer.status_code == 401:
        assert answer.headers.get("www-authenticate", "").lower().startswith("bearer")
    if answer.status_code in (401, 403):
        assert answer.headers["content-type"].startswith("application/problem+json")
    if not key.endswith("/stream"):
        for client in world.hidden_from(caller):
            assert client.id not in answer.text, f"{caller.name} learned of {client.name} from {key}"
            assert client.name not in answer.text, f"{caller.name} learned of {client.name} from {key}"
