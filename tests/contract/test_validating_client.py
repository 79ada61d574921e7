"""The e2e tests' contract-checking client fails on what the document does not allow, both ways: a request
it would send outside the document, and an answer outside it. A real HTTP server on loopback answers
deliberately wrong things against a small document."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from contract_client import Contract, ContractClient, ContractViolation, published_contract

PROBLEM = {"$ref": "#/components/schemas/Problem"}
THING = {"$ref": "#/components/schemas/Thing"}
DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "things", "version": "1"},
    "paths": {
        "/things": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingCreate"}}},
                },
                "responses": {"201": {"description": "made", "content": {"application/json": {"schema": THING}}}},
            }
        },
        "/things/{thing_id}": {
            "get": {
                "parameters": [
                    {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "verbose", "in": "query", "required": False, "schema": {"type": "boolean"}},
                ],
                "responses": {
                    "200": {"description": "the thing", "content": {"application/json": {"schema": THING}}},
                    "404": {"description": "none", "content": {"application/problem+json": {"schema": PROBLEM}}},
                },
            }
        },
        "/feed": {"get": {"responses": {"200": {"description": "live", "content": {"text/event-stream": {}}}}}},
        "/broken-feed": {"get": {"responses": {"200": {"description": "live", "content": {"text/event-stream": {}}}}}},
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "count"],
                "properties": {"id": {"type": "string"}, "count": {"type": "integer"}},
            },
            "ThingCreate": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
                "additionalProperties": False,
            },
            "Problem": {
                "type": "object",
                "required": ["title", "status"],
                "properties": {"title": {"type": "string"}, "status": {"type": "integer"}},
            },
        }
    },
}

# What the server answers for GET /things/{thing_id}: status, content type, body.
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "good": (200, "application/json", b'{"id": "good", "count": 3}'),
    "missing": (404, "application/problem+json", b'{"title": "Not Found", "status": 404}'),
    "teapot": (418, "application/json", b'{"id": "teapot", "count": 1}'),
    "plain": (200, "text/plain", b"good"),
    "count-as-text": (200, "application/json", b'{"id": "count-as-text", "count": "three"}'),
    "bare-problem": (404, "application/problem+json", b'{"detail": "no title, no status"}'),
    "html-feed": (200, "text/html", b"<p>no stream</p>"),
}


class _WrongThings(BaseHTTPRequestHandler):
    """Answers from ``ANSWERS`` and records every request it was sent."""

    received: list[str]

    def do_GET(self) -> None:
        self.received.append(f"GET {self.path}")
        if self.path == "/feed":
            status, content_type, body = 200, "text/event-stream", b"data: 1\n\n"
        elif self.path == "/broken-feed":
            status, content_type, body = ANSWERS["html-feed"]
        else:
            status, content_type, body = ANSWERS[self.path.removeprefix("/things/").partition("?")[0]]
        self._answer(status, content_type, body)

    def do_POST(self) -> None:
        self.received.append(f"POST {self.path}")
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self._answer(201, "application/json", b'{"id": "new", "count": 0}')

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(DOCUMENT)


@pytest.fixture
def received() -> list[str]:
    return []


@pytest.fixture
def client(contract: Contract, received: list[str]) -> Iterator[ContractClient]:
    handler = type("Handler", (_WrongThings,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with ContractClient(contract, base_url=f"http://127.0.0.1:{server.server_port}", timeout=5.0) as http:
            yield http
    finally:
        server.shutdown()
        server.server_close()


def test_a_documented_exchange_passes(client: ContractClient) -> None:
    assert client.get("/things/good", params={"verbose": "true"}).json() == {"id": "good", "count": 3}
    assert client.get("/things/missing").status_code == 404
    assert client.post("/things", json={"name": "new"}).status_code == 201


@pytest.mark.parametrize(
    ("thing", "complaint"),
    [
        ("teapot", "418"),
        ("plain", "text/plain"),
        ("count-as-text", "count: 'three' is not of type 'integer'"),
        ("bare-problem", "'title' is a required property"),
    ],
    ids=["undocumented status", "wrong content type", "body against its schema", "problem against its schema"],
)
def test_an_answer_outside_the_document_fails(client: ContractClient, thing: str, complaint: str) -> None:
    with pytest.raises(ContractViolation, match=complaint):
        client.get(f"/things/{thing}")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "complaint"),
    [
        ("GET", "/things/good", {"params": {"colour": "red"}}, "query parameter 'colour' is not declared"),
        ("GET", "/things/good", {"params": {"verbose": "perhaps"}}, "verbose"),
        ("POST", "/things", {"json": {"title": "new"}}, "'name' is a required property"),
        ("POST", "/things", {"json": {"name": "new", "count": 4}}, "'count' was unexpected"),
        ("POST", "/things", {"content": b"name=new", "headers": {"Content-Type": "text/plain"}}, "text/plain"),
        ("GET", "/nowhere", {}, "Path not found"),
        ("DELETE", "/things/good", {}, "Operation delete not found"),
    ],
    ids=["undeclared query parameter", "query parameter of the wrong type", "body missing a required field",
         "body with an unknown field", "undocumented body type", "undocumented path", "undocumented method"],
)  # fmt: skip
def test_a_request_outside_the_document_is_never_sent(
    client: ContractClient, received: list[str], method: str, path: str, kwargs: dict, complaint: str
) -> None:
    with pytest.raises(ContractViolation, match=complaint):
        client.request(method, path, **kwargs)
    assert received == []


def test_a_deliberately_invalid_request_is_sent_and_its_answer_still_checked(
    client: ContractClient, received: list[str]
) -> None:
    with client.invalid_request():
        made = client.post("/things", json={"name": "new", "count": 4})
        with pytest.raises(ContractViolation, match="418"):
            client.get("/things/teapot", params={"colour": "red"})
    assert made.status_code == 201
    assert received == ["POST /things", "GET /things/teapot?colour=red"]
    with pytest.raises(ContractViolation, match="colour"):  # the exemption ends with the block
        client.get("/things/good", params={"colour": "red"})


def test_a_request_marked_invalid_that_the_document_allows_fails(client: ContractClient, received: list[str]) -> None:
    with client.invalid_request(), pytest.raises(ContractViolation, match="the document allows it"):
        client.post("/things", json={"name": "new"})
    assert received == []


def test_a_stream_is_held_to_its_documented_content_type(client: ContractClient) -> None:
    with client.stream("GET", "/feed") as feed:
        assert feed.read() == b"data: 1\n\n"
    with pytest.raises(ContractViolation, match="text/html"), client.stream("GET", "/broken-feed"):
        pass


def test_the_published_document_is_a_valid_openapi_document_the_client_reads() -> None:
    contract = published_contract()
    assert contract.document["openapi"].startswith("3.1")
    assert "/api/v1/me" in contract.document["paths"]
