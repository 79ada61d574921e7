"""A local stand-in for Productive's invoices endpoint, shaped like the documented samples
(``samples/productive__*.json``, copies kept in the repository): JSON:API pages, auth headers, a 429 when throttled."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from clientpulse.shared.embedded import free_port

# Copies of Productive's documented answers, kept in the repository beside these tests.
SAMPLES = Path(__file__).parent / "samples"
TOKEN = "productive-test-token"
ORGANIZATION = "12345"


def sample_invoice(invoice_id: str, company_id: str, invoiced_on: str, amount: str, currency: str = "EUR",
                   credit: bool = False) -> dict[str, Any]:  # fmt: skip
    """An invoice resource built from the documented sample, with the fields a test varies."""
    body = json.loads((SAMPLES / "productive__invoices_page1.json").read_text())["response"]["body"]
    resource = json.loads(json.dumps(body["data"][1 if credit else 0]))
    resource["id"] = invoice_id
    resource["attributes"] |= {"invoiced_on": invoiced_on, "amount": amount, "currency": currency}
    resource["relationships"]["company"]["data"]["id"] = company_id
    return resource


@dataclass
class ProductiveStandIn:
    """What the server holds and saw."""

    invoices: list[dict[str, Any]] = field(default_factory=list)
    throttle_first: int = 0  # answer this many requests with 429 first
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"query": dict(request.query), "headers": dict(request.headers)})
        if request.headers.get("X-Auth-Token") != TOKEN or request.headers.get("X-Organization-Id") != ORGANIZATION:
            return web.json_response({"errors": [{"status": "401", "title": "Unauthorized"}]}, status=401)
        if self.throttle_first > 0:
            self.throttle_first -= 1
            body = json.loads((SAMPLES / "productive__rate_limited_429.json").read_text())["response"]["body"]
            return web.json_response(body, status=429, headers={"Retry-After": "0"})
        company = request.query.get("filter[company_id]")
        matching = [i for i in self.invoices if i["relationships"]["company"]["data"]["id"] == company]
        size = int(request.query.get("page[size]", "30"))
        number = int(request.query.get("page[number]", "1"))
        pages = max(1, math.ceil(len(matching) / size))
        data = matching[(number - 1) * size : number * size]
        meta = {"current_page": number, "total_pages": pages, "total_count": len(matching), "page_size": size}
        return web.json_response({"data": data, "meta": meta}, content_type="application/vnd.api+json")


@asynccontextmanager
async def productive_stand_in() -> AsyncIterator[ProductiveStandIn]:
    """Serve the stand-in on a free loopback port; ``url`` is the API base (``…/api/v2``).

    It runs on its own thread and event loop: the app under test may run on another loop (Litestar's
    test client drives it through a portal), and a server sharing either loop could stall behind it.
    """
    stand_in = ProductiveStandIn()
    port = free_port()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/api/v2/invoices", stand_in.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runner_box.append(runner)
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(runner_box[0].cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="productive-stand-in", daemon=True)
    thread.start()
    ready.wait(10)
    stand_in.url = f"http://127.0.0.1:{port}/api/v2"
    try:
        yield stand_in
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
