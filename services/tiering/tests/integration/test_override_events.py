"""Every override set or cleared is announced (TierOverrideSet, TierOverrideCleared), also when the effective
tier stays the same and TierChanged says nothing; against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import EXECUTIVE, HEAD, add_client, as_user, running_tiering_service, stream_events

from clientpulse.shared.testing.servers import create_database, delete_all_streams, drop_database

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(postgres_admin_url: str, nats_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The tiering service on its own PostgreSQL database and a clean bus."""
    await delete_all_streams(nats_url)
    url = await asyncio.to_thread(create_database, postgres_admin_url)
    try:
        async with running_tiering_service(url, nats_url) as api:
            yield api, nats_url
    finally:
        await asyncio.to_thread(drop_database, url)


async def test_an_override_to_the_same_tier_is_still_announced_set_and_cleared(service) -> None:
    api, bus = service
    await add_client(api, bus, "c-same")
    path = "/api/v1/clients/c-same/tiering"
    scored = await api.post(
        f"{path}/scores",
        json={"track": "product_saas", "ratings": {"product_adoption": 2, "growth_trajectory": 2,
                                                   "relationship_quality": 2}},
        headers=as_user(EXECUTIVE),
    )  # fmt: skip
    assert scored.json()["current"]["effective_tier"] == "Review"
    same = await api.post(f"{path}/override", json={"tier": "Review", "reason": "watch closely"}, headers=as_user(HEAD))
    assert same.status_code == 200, same.text
    assert (await api.delete(f"{path}/override", headers=as_user(EXECUTIVE))).status_code == 200
    assert (await api.delete(f"{path}/override", headers=as_user(EXECUTIVE))).status_code == 200  # none left

    events = [e for e in await stream_events(bus, "tiering.v1.override.>") if e["subject"] == "c-same"]
    assert [(e["type"].rsplit(".", 1)[-1], e["data"]["tier"], e["data"]["effective_tier"]) for e in events] == [
        ("set", "Review", "Review"),
        ("cleared", "Review", "Review"),
    ]
    assert events[0]["data"]["reason"] == "watch closely" and events[0]["data"]["set_by"] == "u-head"
    assert (events[1]["data"]["cleared_by"], events[1]["data"]["expired"]) == ("u-exec", False)
    changes = [e for e in await stream_events(bus, "tiering.v1.tier.changed") if e["subject"] == "c-same"]
    assert len(changes) == 1  # only the first score moved the effective tier
