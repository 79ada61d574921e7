"""The clients service against real PostgreSQL and NATS: events out through the outbox, in through
the inbox, and a NATS outage that loses nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import nats
import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1]))
from clients_testkit import EXECUTIVE, as_user, running_clients_service

from clientpulse.clients.db.models import Client
from clientpulse.clients.events.handlers import on_score_recorded, on_tier_changed
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import DealWon, ScoreRecorded, Tier, TierChangeCause, TierChanged
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging import outbox
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


async def client_created_events(nats_url: str, client_id: str, timeout: float) -> list[dict]:
    """ClientCreated events about one client in the CLIENTS stream."""
    connection = await nats.connect(nats_url, max_reconnect_attempts=-1)
    try:
        js = connection.jetstream()
        sub = await js.pull_subscribe("clients.v1.client.created", durable=None)
        found: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            try:
                for message in await sub.fetch(10, timeout=0.5):
                    body = json.loads(message.data)
                    if body["subject"] == client_id:
                        found.append(body)
            except TimeoutError:  # nats-py raises the bare asyncio one when the deadline runs out mid-fetch
                if found:
                    return found
        return found
    finally:
        await connection.close()


async def create_client(api, name: str = "Acme") -> str:
    company = (await api.post("/api/v1/companies", json={"name": name}, headers=as_user(EXECUTIVE))).json()
    response = await api.post(
        f"/api/v1/companies/{company['id']}/convert",
        json={"dm_id": "u-42", "squad_id": "s-1"},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return company["id"]


async def test_conversion_publishes_client_created_through_the_outbox(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        client_id = await create_client(api)
        events = await client_created_events(clean_nats, client_id, timeout=10)
    assert len(events) == 1
    assert events[0]["data"]["dm_id"] == "u-42"
    assert events[0]["data"]["status"] == "Prospect"


async def test_a_nats_outage_while_a_client_is_created_loses_nothing(
    postgres_url: str, nats_process: NatsServerProcess
) -> None:
    async with running_clients_service(postgres_url, nats_process.url) as api:
        nats_process.stop()
        client_id = await create_client(api, "Created while NATS was down")
        database = Database(postgres_url)

        async def pending() -> int:
            async with database.sessions() as session:
                query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                return int(await session.scalar(query) or 0)

        await asyncio.sleep(1.0)
        assert await pending() == 1  # committed with the client, waiting for NATS
        assert (await api.get("/readyz")).status_code == 503

        nats_process.start()
        assert await wait_until(lambda: _zero(pending), within=30)
        events = await client_created_events(nats_process.url, client_id, timeout=10)
        await database.dispose()
    assert len(events) == 1


async def _zero(count) -> bool:
    return await count() == 0


async def test_a_won_deal_raises_one_conversion_prompt_however_often_it_arrives(
    postgres_url: str, clean_nats: str
) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        deal = wrap(
            DealWon(
                deal_id="deal-9",
                client_id="crm-company-9",
                company_name="Harbor Light",
                owner_id="u-42",
                won_at=datetime.now(UTC),
            ),
            source="crm",
        )
        await publish_envelopes(clean_nats, [deal])
        connection = await nats.connect(clean_nats)  # a second copy, as after the dedup window
        await connection.jetstream().publish(deal.data.subject, deal.to_json(), stream="CRM")
        await connection.close()

        async def prompts() -> list[dict]:
            response = await api.get("/api/v1/conversion-prompts", headers=as_user(EXECUTIVE))
            return response.json()["items"]

        assert await wait_until(lambda: _has(prompts), within=10)
        await asyncio.sleep(1.0)  # let the duplicate arrive too
        listed = await prompts()
        assert [p["deal_id"] for p in listed] == ["deal-9"]

        accepted = await api.post(f"/api/v1/conversion-prompts/{listed[0]['id']}/accept", headers=as_user(EXECUTIVE))
        assert accepted.status_code == 201 or accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "Active"
        company = await api.get("/api/v1/companies/crm-company-9", headers=as_user(EXECUTIVE))
        assert company.json() | {"name": "Harbor Light", "is_client": True} == company.json()
        again = await api.post(f"/api/v1/conversion-prompts/{listed[0]['id']}/accept", headers=as_user(EXECUTIVE))
        assert again.status_code == 409


async def _has(items) -> bool:
    return bool(await items())


async def test_an_older_fact_handled_beside_a_newer_one_never_overwrites_it(postgres_url: str, clean_nats: str) -> None:
    """Two events of one client in flight at once: the older one waits for the newer's row and keeps out.

    The newer TierChanged is applied first and held uncommitted; the older ScoreRecorded is handled
    meanwhile in its own unit of work. Without the row lock it reads the row as it was and its later
    commit wins.
    """
    async with running_clients_service(postgres_url, clean_nats) as api:
        client = await create_client(api, "Concurrent Co")
    now = datetime.now(UTC)
    older = wrap(
        ScoreRecorded(client_id=client, receipt_id="r-1", track="managed", score=Decimal("3.10"),
                      computed_tier=Tier.CORE, effective_tier=Tier.CORE, framework_version=1,
                      ratings_recorded_at=now - timedelta(days=1), recorded_by="u-exec"),
        source="tiering", time=now - timedelta(minutes=5),
    )  # fmt: skip
    newer = wrap(
        TierChanged(client_id=client, old_tier=Tier.CORE, new_tier=Tier.PLATINUM, old_score=Decimal("3.10"),
                    new_score=Decimal("4.05"), cause=TierChangeCause.RECALCULATION, receipt_id="r-2"),
        source="tiering", time=now,
    )  # fmt: skip
    database = Database(postgres_url)
    try:
        newer_applied, release = asyncio.Event(), asyncio.Event()

        async def apply_newer_and_hold() -> None:
            async with database.transaction(notify=False) as session:
                await on_tier_changed(newer, session)
                await session.flush()
                newer_applied.set()
                await release.wait()

        async def apply_older() -> None:
            await newer_applied.wait()
            async with database.transaction(notify=False) as session:
                await on_score_recorded(older, session)

        holding = asyncio.create_task(apply_newer_and_hold())
        applying = asyncio.create_task(apply_older())
        await asyncio.sleep(0.5)  # the older event is now either blocked on the row or done reading it
        release.set()
        await asyncio.gather(holding, applying)

        async with database.transaction(notify=False) as session:
            row = (await session.execute(select(Client.tier, Client.tier_score).where(Client.id == client))).one()
        assert (row.tier, row.tier_score) == ("Platinum", Decimal("4.05"))
    finally:
        await database.dispose()
