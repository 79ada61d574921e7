"""The live stream and outgoing webhooks on real NATS and PostgreSQL: a notification reaches an open
SSE stream as soon as it is committed and a reconnect resumes from Last-Event-ID; a webhook receiver on
loopback gets signed deliveries, failures are retried, logged and eventually disable the endpoint."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
import itertools

from notifications_testkit import Receiver, RunningService, SseReader, loads, settle

from clientpulse.notifications.domain.webhooks import SIGNATURE_HEADER, verify_signature
from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierChanged
from clientpulse.shared.identity import Role
from clientpulse.shared.testing.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def tier_changed(client_id: str) -> TierChanged:
    return TierChanged(
        client_id=client_id,
        old_tier=Tier.STANDARD,
        new_tier=Tier.CORE,
        old_score=Decimal("2.50"),
        new_score=Decimal("3.00"),
        cause=TierChangeCause.OVERRIDE,
        receipt_id="r-9",
        changed_by="u-exec",
    )


async def test_the_stream_pushes_a_notification_on_commit_and_resumes_after_a_reconnect(
    service: RunningService,
) -> None:
    """The service polls its table only every 30 s here, so arriving within 10 s means it was pushed."""
    async with service.http("u-sse") as api:
        async with api.stream("GET", "/api/v1/me/notifications/stream", timeout=None) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = SseReader(response)
            assert await asyncio.wait_for(stream.first_line(), 5) == ": connected"
            published = time.perf_counter()
            first_client = await service.publish_client_created("u-sse", "Streamed")
            (event,) = await asyncio.wait_for(stream.events(1), 10)
            print(f"\nSSE: published → received in {time.perf_counter() - published:.3f}s")
        assert event["event"] == "notification"
        assert loads(event)["client_id"] == first_client
        assert event["id"] == loads(event)["id"]

        # While the browser is away, two more arrive.
        missed = [await service.create_client("u-sse", name=f"Missed {n}") for n in (1, 2)]
        async with api.stream(
            "GET", "/api/v1/me/notifications/stream", headers={"Last-Event-ID": event["id"]}, timeout=None
        ) as response:
            replayed = await asyncio.wait_for(SseReader(response).events(2), 10)
    assert [loads(e)["client_id"] for e in replayed] == missed
    assert [e["id"] for e in replayed] == sorted(e["id"] for e in replayed)


async def test_the_stream_shows_nobody_elses_notifications_and_needs_an_identity(service: RunningService) -> None:
    async with (
        service.http("u-sse-other") as other,
        other.stream("GET", "/api/v1/me/notifications/stream", timeout=None) as response,
    ):
        stream = SseReader(response)
        assert await asyncio.wait_for(stream.first_line(), 5) == ": connected"
        await service.create_client("u-sse-mine", name="Not for the other")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.events(1), 1.5)
    import httpx

    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        refused = await anonymous.get("/api/v1/me/notifications/stream")
    assert refused.status_code == 401


async def register(service: RunningService, url: str, event_types: list[str] | None = None) -> dict:
    async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
        response = await executive.post(
            "/api/v1/webhooks", json={"url": url, "event_types": event_types or ["TierChanged"]}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(service: RunningService, webhook_id: str) -> list[dict]:
    async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
        response = await executive.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_webhook_on_loopback_gets_a_signed_delivery_whose_tampering_is_detectable(
    service: RunningService, receiver: Receiver
) -> None:
    webhook = await register(service, receiver.url("signed"))
    assert webhook["secret"].startswith("whsec_")
    client_id = await service.create_client("u-48", name="Signed Co")
    (envelope,) = await service.publish(tier_changed(client_id), source="tiering")

    assert await wait_until(lambda: _has(receiver, "signed"), within=15)
    (request,) = receiver.received("signed")
    body = request.body
    assert json.loads(body)["id"] == envelope.id
    assert json.loads(body)["data"]["new_tier"] == "Core"
    assert request.headers["X-Clientpulse-Event-Type"] == "TierChanged"
    header = request.headers[SIGNATURE_HEADER]
    now = int(time.time())
    assert verify_signature(webhook["secret"], header, body, now=now)
    assert not verify_signature(webhook["secret"], header, body.replace(b"Core", b"Platinum"), now=now)
    assert not verify_signature("whsec_guessed", header, body, now=now)

    (delivery,) = await _eventually_delivered(service, webhook["id"])
    assert delivery["event_id"] == envelope.id
    assert [a["status_code"] for a in delivery["attempt_log"]] == [200]
    async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
        listed = (await executive.get("/api/v1/webhooks")).json()["items"]
    assert "secret" not in next(w for w in listed if w["id"] == webhook["id"])


async def _has(receiver: Receiver, name: str, count: int = 1) -> bool:
    return len(receiver.received(name)) >= count


async def _eventually_delivered(service: RunningService, webhook_id: str) -> list[dict]:
    found: list[dict] = []

    async def delivered() -> bool:
        nonlocal found
        found = await deliveries(service, webhook_id)
        return bool(found) and all(d["status"] == "delivered" for d in found)

    assert await wait_until(delivered, within=15)
    return found


async def test_a_500_is_retried_with_backoff_and_every_attempt_is_logged(
    service: RunningService, receiver: Receiver
) -> None:
    receiver.failures["flaky"] = 2
    webhook = await register(service, receiver.url("flaky"))
    client_id = await service.create_client("u-49", name="Flaky Co")
    await service.publish(tier_changed(client_id), source="tiering")

    (delivery,) = await _eventually_delivered(service, webhook["id"])
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert "HTTP 500" in delivery["attempt_log"][0]["error"]
    received = receiver.received("flaky")
    assert len({r.headers["X-Clientpulse-Delivery-Id"] for r in received}) == 1  # the same delivery, retried
    gaps = [(b.received_at - a.received_at).total_seconds() for a, b in itertools.pairwise(received)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # the configured backoff, never earlier


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_queue_abandoned(
    service: RunningService, receiver: Receiver
) -> None:
    receiver.failures["down"] = -1  # always 500
    webhook = await register(service, receiver.url("down"))
    client_id = await service.create_client("u-50", name="Down Co")
    await service.publish(tier_changed(client_id), source="tiering")

    async def disabled() -> dict | None:
        async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
            items = (await executive.get("/api/v1/webhooks", params={"limit": 200})).json()["items"]
        found = next(w for w in items if w["id"] == webhook["id"])
        return found if not found["active"] else None

    assert await wait_until(lambda: _truthy(disabled), within=20)
    state = await disabled()
    assert state and state["consecutive_failures"] == 3 and "3 failed attempts" in state["disabled_reason"]
    (delivery,) = await deliveries(service, webhook["id"])
    assert delivery["status"] == "abandoned" and len(delivery["attempt_log"]) == 3
    # A disabled endpoint gets nothing more.
    await service.publish(tier_changed(client_id), source="tiering")
    await settle()
    assert len(receiver.received("down")) == 3


async def _truthy(check) -> bool:
    return bool(await check())


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fd00::1]/hook", "private"),
        ("ftp://127.0.0.1/hook", "must use"),
    ],
)
async def test_private_and_link_local_targets_are_refused_with_a_problem(
    service: RunningService, url: str, problem: str
) -> None:
    async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
        response = await executive.post("/api/v1/webhooks", json={"url": url, "event_types": ["TierChanged"]})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem in response.json()["detail"]


async def test_only_executives_manage_webhooks_and_inputs_are_checked(service: RunningService, receiver) -> None:
    async with service.http("u-42", Role.MANAGER, "s-1") as manager:
        assert (await manager.get("/api/v1/webhooks")).status_code == 403
        forbidden = await manager.post(
            "/api/v1/webhooks", json={"url": receiver.url("x"), "event_types": ["TierChanged"]}
        )
        assert forbidden.status_code == 403
    async with service.http("u-exec", Role.EXECUTIVE, None) as executive:
        unknown = await executive.post("/api/v1/webhooks", json={"url": receiver.url("x"), "event_types": ["Nope"]})
        assert unknown.status_code == 422 and "Nope" in unknown.json()["detail"]
        extra = await executive.post(
            "/api/v1/webhooks", json={"url": receiver.url("x"), "event_types": ["TierChanged"], "secret": "mine"}
        )
        assert extra.status_code == 422
        webhook = await register(service, receiver.url("deleted"))
        assert (await executive.delete(f"/api/v1/webhooks/{webhook['id']}")).status_code == 204
        assert (await executive.delete(f"/api/v1/webhooks/{webhook['id']}")).status_code == 404
        assert (await executive.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).status_code == 404


async def test_metrics_count_notifications_per_rule_and_deliveries_by_outcome(service: RunningService) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        text = (await anonymous.get("/metrics")).text
    assert 'clientpulse_notifications_created_total{rule="client_assigned"}' in text
    assert 'clientpulse_webhook_deliveries_total{outcome="delivered"}' in text
    assert "clientpulse_webhook_delivery_latency_seconds_bucket" in text
