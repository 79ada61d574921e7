"""The leak scan: every secret value of a run, in every form it could take, searched for in everything
the system said (log lines, HTTP responses, events, dead letters, outgoing requests)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from clientpulse.shared.embedded import free_port


@dataclass(frozen=True)
class Secret:
    """One secret value of the run; ``shown_in`` names (by prefix) the sources meant to carry it (none, mostly)."""

    kind: str
    value: str
    shown_in: frozenset[str] = frozenset()


def forms(value: str) -> set[str]:
    """The value as it could leak: itself, and in standard and URL-safe base64, padded or not."""
    raw = value.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {value} | encoded | {e.rstrip("=") for e in encoded}


def find_leaks(secrets: Iterable[Secret], sources: dict[str, str]) -> list[str]:
    """``"<kind> in <source>"`` for every secret found in a source not meant to carry it."""
    found = []
    for secret in secrets:
        for name, text in sources.items():
            if any(name.startswith(prefix) for prefix in secret.shown_in):
                continue
            if any(form in text for form in forms(secret.value)):
                found.append(f"{secret.kind} in {name}")
    return found


@dataclass
class Recorder:
    """Every HTTP response a client of the system received, headers and body, by request."""

    responses: dict[str, str] = field(default_factory=dict)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        key = f"response {len(self.responses) + 1}: {response.request.method} {response.request.url.path}"
        self.responses[key] = f"{response.status_code}\n{headers}\n\n{response.text}"

    def client(self, base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
        """An HTTP client whose every response is recorded."""
        return httpx.Client(base_url=base_url, headers=headers or {}, timeout=15, event_hooks={"response": [self]})


@dataclass
class OutsideWorld:
    """Loopback stand-ins for what the system calls out to: Productive's invoices API and a webhook
    receiver. Every request they get is kept (to be scanned too)."""

    productive_token: str
    organization_id: str
    port: int = 0
    requests: list[str] = field(default_factory=list)
    # Productive's first answer is a 401, so its error path runs too.
    refuse_first: int = 1
    hooks_received: int = 0

    @property
    def productive_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v2"

    def hook_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    @contextmanager
    def running(self) -> Iterator[OutsideWorld]:
        world = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: bytes) -> None:
                world.requests.append(f"{self.command} {self.path}\n{self.headers}\n{body.decode(errors='replace')}")

            def _answer(self, status: int, body: dict[str, Any], content_type: str = "application/json") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._record(b"")
                authorised = (
                    self.headers.get("X-Auth-Token") == world.productive_token
                    and self.headers.get("X-Organization-Id") == world.organization_id
                )
                if not self.path.startswith("/api/v2/invoices") or not authorised or world.refuse_first > 0:
                    world.refuse_first = max(0, world.refuse_first - 1)
                    self._answer(401, {"errors": [{"status": "401", "title": "Unauthorized"}]})
                    return
                meta = {"current_page": 1, "total_pages": 1, "total_count": 0, "page_size": 200}
                self._answer(200, {"data": [], "meta": meta}, "application/vnd.api+json")

            def do_POST(self) -> None:
                self._record(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                world.hooks_received += 1
                self._answer(200, {"ok": True})

            def log_message(self, *_: object) -> None:
                return

        self.port = free_port()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, name="outside-world", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
