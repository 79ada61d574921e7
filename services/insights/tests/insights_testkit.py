"""What the insights tests share: identities, campaign rows, a stand-in for the results API and a stand-in
for an OpenAI-compatible model (each a real HTTP server on loopback), and the service served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import nats
import uvicorn
from litestar import Litestar, Request, get, post
from litestar.params import FromPath
from litestar.response import Response
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from clientpulse.insights.app import create_app
from clientpulse.insights.db.models import Analysis, ResultSource
from clientpulse.insights.domain.analysis import CampaignResult
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.contracts import Envelope, EventData, wrap
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, IdentityError, Role, sign_identity, verify_identity
from clientpulse.shared.messaging import inbox
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

SECRET = "insights-test-identity-secret-of-enough-length"
MODEL = "kimi-k2.5-test"
API_KEY = "sk-insights-test-key"

EXECUTIVE = Identity("u-exec", Role.EXECUTIVE)
MANAGER_S1 = Identity("u-42", Role.MANAGER, "s-1")
MANAGER_S2 = Identity("u-77", Role.MANAGER, "s-2")
LEAD = Identity("u-lead", Role.LEAD, "s-1")


def as_user(identity: Identity) -> dict[str, str]:
    """Headers the gateway would forward for this user."""
    return {IDENTITY_HEADER: sign_identity(identity, SECRET)}


def campaign(
    campaign_id: str,
    *,
    spend: int,
    revenue: int = 0,
    conversions: str | int = 0,
    currency: str = "EUR",
    frequency: str | None = None,
    name: str | None = None,
    creative: str | None = None,
    status: str = "ACTIVE",
    connection_id: str = "conn-meta",
    platform: str = "meta",
) -> CampaignResult:
    """One campaign's week, with what a test varies."""
    return CampaignResult(
        connection_id=connection_id,
        platform=platform,
        campaign_id=campaign_id,
        campaign_name=name or f"Campaign {campaign_id}",
        currency=currency,
        spend_minor=spend,
        impressions=spend * 10,
        clicks=spend // 100,
        conversions=Decimal(conversions),
        revenue_minor=revenue,
        status=status,
        creative_title=creative,
        reach=spend * 3,
        seven_day_frequency=None if frequency is None else Decimal(frequency),
    )


def campaign_row(c: CampaignResult) -> dict[str, Any]:
    """A campaign as the results API's campaign table writes it (Decimals as strings)."""
    roas = None if c.spend_minor == 0 else str((Decimal(c.revenue_minor) / c.spend_minor).quantize(Decimal("0.0001")))
    return {
        "connection_id": c.connection_id,
        "platform": c.platform,
        "campaign_id": c.campaign_id,
        "campaign_name": c.campaign_name,
        "status": c.status,
        "creative_title": c.creative_title,
        "currency": c.currency,
        "spend_minor": c.spend_minor,
        "impressions": c.impressions,
        "clicks": c.clicks,
        "conversions": str(c.conversions),
        "revenue_minor": c.revenue_minor,
        "roas": roas,
        "cpa_minor": None,
        "ctr": None,
        "reach": c.reach,
        "frequency": None,
        "seven_day_frequency": None if c.seven_day_frequency is None else str(c.seven_day_frequency),
        "fatigued": c.seven_day_frequency is not None and c.seven_day_frequency > 3,
        "spend_series": [0] * 7,
    }


# --- servers on loopback ------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_in_thread(app: Litestar, name: str) -> Iterator[str]:
    """Serve a Litestar app with uvicorn on a free loopback port, on its own thread and event loop.

    Its own loop keeps it answering while the app under test (on the test's loop) waits on it.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = 100
    while not server.started and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert server.started, f"{name} did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class ResultsStandIn:
    """The results API's campaign table: rows per (client, first day of the range); requests are recorded."""

    tables: dict[tuple[str, str], list[CampaignResult]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def set_week(self, client_id: str, start: Any, rows: list[CampaignResult]) -> None:
        """What the table says for the client's week starting ``start``."""
        self.tables[(client_id, str(start))] = rows

    def app(self) -> Litestar:
        stand_in = self

        @get("/api/v1/clients/{client_id:str}/results/campaigns", sync_to_thread=False)
        def campaigns(request: Request[Any, Any, Any], client_id: FromPath[str]) -> Response[Any]:
            try:
                caller = verify_identity(request.headers.get(IDENTITY_HEADER, ""), SECRET)
            except IdentityError:
                return Response({"detail": "no valid identity"}, status_code=401)
            query = dict(request.query_params)
            stand_in.requests.append({"client_id": client_id, "caller": caller, **query})
            rows = stand_in.tables.get((client_id, query["start"]), [])
            body = {
                "client_id": client_id,
                "start": query["start"],
                "end": query["end"],
                "sort": query.get("sort", "spend"),
                "order": query.get("order", "desc"),
                "items": [campaign_row(r) for r in rows],
            }
            return Response(body)

        return Litestar([campaigns], logging_config=None)


@dataclass
class ModelStandIn:
    """An OpenAI-compatible ``/v1/chat/completions``; how it answers depends on the client the facts are about:
    ``behaviour[client_id]`` is ``valid`` (default), ``changed_number``, ``garbage``, ``unknown_id`` or ``slow``."""

    behaviour: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    usage: tuple[int, int] = (900, 120)
    # Scripted replies, used first, one per request: {"content": str} (valid output, invalid JSON, invented
    # numbers, unknown ids: whatever the text says), {"tool_calls": [(id, name, arguments)]}, {"status": 429,
    # "retry_after": "0"} or {"status": 503}, {"sleep": seconds} (a timeout).
    script: list[dict[str, Any]] = field(default_factory=list)

    async def scripted(self, body: dict[str, Any]) -> Response[Any]:
        step = self.script.pop(0)
        if "sleep" in step:
            await asyncio.sleep(step["sleep"])
        if "status" in step:
            headers = {"Retry-After": step["retry_after"]} if "retry_after" in step else {}
            return Response({"error": {"message": "slow down"}}, status_code=step["status"], headers=headers)
        message: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
        if "tool_calls" in step:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                for call_id, name, arguments in step["tool_calls"]
            ]
        return self.completion(body, message)

    def completion(self, body: dict[str, Any], message: dict[str, Any]) -> Response[Any]:
        prompt, completion = self.usage
        return Response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    def reply_for(self, facts: dict[str, Any]) -> str:
        findings = [{"id": f["id"], "reasoning": f"Worth a look: {f['title']}."} for f in facts["findings"]]
        recommendations = [
            {"id": r["id"], "reasoning": f"The rule “{r['rule_description']}” fired."}
            for r in facts["budget_recommendations"]
        ]
        score = facts["health"]["score"]
        reply: dict[str, Any] = {
            "health_score": score,
            "executive_summary": f"Model summary: the week scored {score} out of 100.",
            "findings": findings,
            "budget_recommendations": recommendations,
        }
        behaviour = self.behaviour.get(facts["client_id"], "valid")
        if behaviour == "changed_number":
            reply["executive_summary"] = f"The week scored {score}; blended ROAS reached 97.31."
        elif behaviour == "unknown_id":
            reply["findings"] = [*findings, {"id": "F99", "reasoning": "An invented finding."}]
        elif behaviour == "garbage":
            return "Sure! Here is your analysis: the week went well."
        return json.dumps(reply)

    def app(self) -> Litestar:
        stand_in = self

        @post("/v1/chat/completions", status_code=200)
        async def completions(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            stand_in.requests.append({"headers": dict(request.headers), "body": body})
            if stand_in.script:
                return await stand_in.scripted(body)
            facts = json.loads(body["messages"][-1]["content"])
            if stand_in.behaviour.get(facts["client_id"]) == "slow":
                await asyncio.sleep(3)
            prompt, completion = stand_in.usage
            return Response(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": stand_in.reply_for(facts)},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
            )

        return Litestar([completions], logging_config=None)


@contextlib.contextmanager
def results_stand_in() -> Iterator[ResultsStandIn]:
    """The results API stand-in, served until the block ends."""
    stand_in = ResultsStandIn()
    with serve_in_thread(stand_in.app(), "results-stand-in") as url:
        stand_in.url = url
        yield stand_in


@contextlib.contextmanager
def model_stand_in() -> Iterator[ModelStandIn]:
    """The model stand-in, served until the block ends (``url`` is the API base, ``…/v1``)."""
    stand_in = ModelStandIn()
    with serve_in_thread(stand_in.app(), "model-stand-in") as url:
        stand_in.url = f"{url}/v1"
        yield stand_in


# --- the service under test ---------------------------------------------------------------------------


@dataclass
class RunningInsights:
    """The served app, its bus and a handle on its database."""

    url: str
    nats_url: str
    database: Database

    def http(self, identity: Identity = EXECUTIVE) -> httpx.AsyncClient:
        """An HTTP client of the service, as this user."""
        return httpx.AsyncClient(base_url=self.url, headers=as_user(identity), timeout=10.0)

    async def publish(self, *events: EventData | Envelope[Any], source: str = "tests") -> list[Envelope[Any]]:
        """Publish events (or ready envelopes) on the bus, in order."""
        envelopes = [e if isinstance(e, Envelope) else wrap(e, source=source) for e in events]
        await publish_envelopes(self.nats_url, envelopes)
        return envelopes

    async def add_client(
        self, client_id: str, *, status: ClientStatus = ClientStatus.ACTIVE, dm_id: str = "u-42", squad_id: str = "s-1"
    ) -> None:
        """Announce a client as the clients service would."""
        created = ClientCreated(
            client_id=client_id,
            name=f"Client {client_id}",
            status=status,
            dm_id=dm_id,
            squad_id=squad_id,
            created_by="u-exec",
        )
        await self.publish(created, source="clients")

    async def count(self, query: Any) -> int:
        """A count straight from the service's database."""
        async with self.database.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def wait_for_replicas(self, clients: int, sources: int) -> None:
        """Until the client directory and the result sources hold what was published."""

        async def caught_up() -> bool:
            known = await self.count(select(func.count()).select_from(client_directory))
            with_results = await self.count(select(func.count()).select_from(ResultSource))
            return known >= clients and with_results >= sources

        assert await wait_until(caught_up, within=20, interval=0.1), "the replicas did not catch up"

    async def analyses(self) -> list[Analysis]:
        """Every stored analysis."""
        async with self.database.sessions() as session:
            return list(await session.scalars(select(Analysis).order_by(Analysis.client_id, Analysis.week)))

    async def handled(self, consumer: str) -> int:
        """How many events a consumer of this service has committed."""
        return await self.count(select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer))

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The service's /metrics scrape: (sample name, labels) → value."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as client:
            text = (await client.get("/metrics")).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def sample(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """One sample's value in a scrape (0 when absent)."""
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@contextlib.asynccontextmanager
async def running_insights(database_url: str, nats_url: str, **settings: Any) -> AsyncIterator[RunningInsights]:
    """The insights app with its lifespan (migrations, consumers, outbox relay) served over HTTP."""
    config = InsightsSettings(
        database_url=database_url,
        nats_url=nats_url,
        identity_secret=SECRET,
        outbox_poll_interval=0.1,
        consumer_backoff=[0.2, 0.5, 1.0, 2.0, 5.0],
        **settings,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    database = Database(database_url)
    running = RunningInsights(f"http://127.0.0.1:{port}", nats_url, database)
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            assert await wait_until(ready, within=20, interval=0.1), "the insights service did not get ready"
        yield running
    finally:
        await database.dispose()
        server.should_exit = True
        await serving


async def stream_events(nats_url: str, subject: str, *, settle: float = 1.0, timeout: float = 15.0) -> list[dict]:
    """Every event on a subject so far (an ephemeral consumer from the start), once the stream goes quiet."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        sub = await js.pull_subscribe(subject, durable=None)
        found: list[dict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() < deadline:
            try:
                messages = await sub.fetch(500, timeout=0.3)
            except (nats.errors.TimeoutError, TimeoutError):
                if loop.time() - quiet_since >= settle:
                    break
                continue
            for message in messages:
                found.append(json.loads(message.data))
                await message.ack()
            quiet_since = loop.time()
        return found
    finally:
        await connection.close()
