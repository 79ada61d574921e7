"""A platform imitation on loopback that answers exactly what a test scripts: the documented answers
of each case (throttling headers, token endpoint refusals…), in order, and records every request."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Answer:
    """One scripted HTTP answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the platform received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


class ScriptedPlatform:
    """Answers per path (a queue each; the last answer repeats when the queue runs dry)."""

    def __init__(self) -> None:
        self.answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.last: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self.url = ""

    def script(self, path: str, *answers: Answer) -> None:
        """Queue answers for requests to ``path``."""
        self.answers[path].extend(answers)

    def requests(self, path: str) -> list[Seen]:
        """What was asked of ``path``."""
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), await request.text())
        )
        queue = self.answers.get(request.path)
        if queue:
            answer = queue.popleft()
            self.last[request.path] = answer
        elif request.path in self.last:
            answer = self.last[request.path]
        else:
            return web.json_response({"error": f"nothing scripted for {request.path}"}, status=404)
        return web.Response(
            status=answer.status,
            text=json.dumps(answer.body),
            content_type="application/json",
            headers=answer.headers,
        )


@asynccontextmanager
async def scripted_platform() -> AsyncIterator[ScriptedPlatform]:
    """A scripted platform on a free loopback port, served from its own thread and event loop (so it
    answers whichever loop the caller blocks, e.g. an app under a test client's portal)."""
    platform = ScriptedPlatform()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", platform._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            holder["runner"] = runner
            platform.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(holder["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="scripted-platform", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield platform
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(10)
