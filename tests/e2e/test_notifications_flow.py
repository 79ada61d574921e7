"""Notifications through the gateway: a TierChanged on the bus about a client converted through the
gateway reaches the assigned DM's inbox and live stream, and nobody else's; webhooks are the Executives'.

Tiering publishes TierChanged once Score Now lands; until then the test publishes it on NATS itself,
as tiering would (same subject, stream and envelope).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest
from harness import System, eventually, logs

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierChanged
from clientpulse.shared.identity import Role
from clientpulse.shared.messaging.direct import publish_envelopes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client_of_u51(system: System) -> str:
    """A company converted into a client by an Executive, assigned to manager u-51 of squad s-5."""
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        company = executive.post("/api/v1/companies", json={"name": "Larkspur Foods"})
        assert company.status_code == 201, company.text
        client = executive.post(
            f"/api/v1/companies/{company.json()['id']}/convert", json={"dm_id": "u-51", "squad_id": "s-5"}
        )
        assert client.status_code == 201, client.text
    with system.api(Role.MANAGER, "u-51", "s-5") as dm:
        # The DM hears of the new client: the notifications replica knows the assignment from here on.
        assert eventually(lambda: dm.get("/api/v1/me/notifications/unread-count").json()["unread"] >= 1), logs(system)
    return client.json()["id"]


def publish_tier_change(system: System, client_id: str) -> str:
    envelope = wrap(
        TierChanged(
            client_id=client_id,
            old_tier=None,
            new_tier=Tier.CORE,
            old_score=None,
            new_score=Decimal("3.20"),
            cause=TierChangeCause.SCORE_NOW,
            receipt_id="r-e2e",
            changed_by="u-51",
        ),
        source="tiering",
    )
    asyncio.run(publish_envelopes(system.nats_url, [envelope]))
    return envelope.id


def test_a_tier_change_on_the_bus_reaches_the_dms_inbox_through_the_gateway(system: System, client_of_u51: str) -> None:
    publish_tier_change(system, client_of_u51)
    with system.api(Role.MANAGER, "u-51", "s-5") as dm:

        def tier_notifications() -> list[dict]:
            response = dm.get("/api/v1/me/notifications", params={"unread": "true"})
            assert response.status_code == 200, response.text
            return [n for n in response.json()["items"] if n["rule"] == "tier_changed"]

        (notification,) = eventually(tier_notifications) or [None]
        assert notification, logs(system)
        assert notification["title"] == "Larkspur Foods: unscored → Core"
        assert notification["client_id"] == client_of_u51
        read = dm.post(f"/api/v1/me/notifications/{notification['id']}/read")
        assert read.status_code == 200 and read.json()["read_at"]
    with system.api(Role.MANAGER, "u-77", "s-2") as other:
        items = other.get("/api/v1/me/notifications").json()["items"]
        assert [n for n in items if n["client_id"] == client_of_u51] == []
        assert other.post(f"/api/v1/me/notifications/{notification['id']}/read").status_code == 404


def read_events(response: httpx.Response, count: int) -> list[dict]:
    events: list[dict] = []
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if current.get("data"):
                events.append(current)
                if len(events) == count:
                    break
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            current[key] = value.lstrip(" ")
    return events


def tier_notification_ids(system: System) -> list[str]:
    with system.api(Role.MANAGER, "u-51", "s-5") as dm:
        items = dm.get("/api/v1/me/notifications", params={"limit": 200}).json()["items"]
    return [n["id"] for n in items if n["rule"] == "tier_changed"]


def test_the_live_stream_through_the_gateway_delivers_and_resumes(system: System, client_of_u51: str) -> None:
    before = len(tier_notification_ids(system))
    with (
        system.api(Role.MANAGER, "u-51", "s-5", timeout=15.0) as http,
        http.stream("GET", "/api/v1/me/notifications/stream") as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        publish_tier_change(system, client_of_u51)
        (event,) = read_events(response, 1)
    assert json.loads(event["data"])["rule"] == "tier_changed"
    assert json.loads(event["data"])["client_id"] == client_of_u51

    # Published while the browser was away: the reconnect with Last-Event-ID replays it.
    publish_tier_change(system, client_of_u51)
    assert eventually(lambda: len(tier_notification_ids(system)) >= before + 2), logs(system)
    newest = tier_notification_ids(system)[0]
    with (
        system.api(Role.MANAGER, "u-51", "s-5", timeout=15.0) as http,
        http.stream("GET", "/api/v1/me/notifications/stream", headers={"Last-Event-ID": event["id"]}) as response,
    ):
        (replayed,) = read_events(response, 1)
    assert replayed["id"] == newest != event["id"]


def test_webhooks_are_for_executives_and_refuse_internal_targets(system: System) -> None:
    with system.api(Role.MANAGER, "u-51", "s-5") as manager:
        assert manager.get("/api/v1/webhooks").status_code == 403
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        refused = executive.post(
            "/api/v1/webhooks", json={"url": "https://127.0.0.1/hook", "event_types": ["TierChanged"]}
        )
        listed = executive.get("/api/v1/webhooks")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "loopback" in refused.json()["detail"]
    assert listed.status_code == 200


def test_score_now_through_the_gateway_reaches_the_dms_inbox(system: System) -> None:
    """The whole path: Score Now in tiering → TierChanged through its outbox → notifications → the DM's inbox."""
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        company = executive.post("/api/v1/companies", json={"name": "Quillfeather Paper"}).json()
        executive.post(f"/api/v1/companies/{company['id']}/convert", json={"dm_id": "u-61", "squad_id": "s-6"})
    client_id = company["id"]
    ratings = {"profitability": 5, "strategic_value": 5, "relationship_quality": 5}
    with system.api(Role.MANAGER, "u-61", "s-6") as dm:
        # Tiering authorises the DM once it has replicated the assignment from ClientCreated.
        scored = eventually(
            lambda: (
                (
                    r := dm.post(
                        f"/api/v1/clients/{client_id}/tiering/scores",
                        json={"track": "managed_delivery", "ratings": ratings},
                    )
                ).status_code
                == 201
                and r
            )
        )
        assert scored, logs(system)
        receipt = scored.json()["receipt"]

        def tier_notifications() -> list[dict]:
            items = dm.get("/api/v1/me/notifications").json()["items"]
            return [n for n in items if n["rule"] == "tier_changed" and n["client_id"] == client_id]

        notifications = eventually(tier_notifications)
    assert notifications, logs(system)
    assert len(notifications) == 1
    assert notifications[0]["title"] == f"Quillfeather Paper: unscored → {receipt['effective_tier']}"
