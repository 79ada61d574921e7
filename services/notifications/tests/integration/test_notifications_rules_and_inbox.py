"""Rules end to end on real NATS and PostgreSQL: events published on the bus reach the right inboxes,
once, whatever the redeliveries; the inbox API shows each user only their own."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import nats
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from notifications_testkit import EMAIL_USER, HEADS, RunningService, settle, unique

from clientpulse.notifications.cli import main as cli_main
from clientpulse.notifications.escalation import escalate_overdue_qbrs
from clientpulse.shared.contracts.events import (
    BackfillFailed,
    ClientAssigned,
    DealWon,
    HealthBand,
    HealthScoreRecorded,
    QbrLogged,
    QbrOverdue,
    RecalculationCompleted,
    Tier,
    TierChangeCause,
    TierChanged,
)
from clientpulse.shared.testing.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def tier_changed(client_id: str) -> TierChanged:
    return TierChanged(
        client_id=client_id,
        old_tier=Tier.CORE,
        new_tier=Tier.PLATINUM,
        old_score=Decimal("3.95"),
        new_score=Decimal("4.05"),
        cause=TierChangeCause.SCORE_NOW,
        receipt_id="r-1",
        changed_by="u-42",
    )


async def test_a_tier_change_published_twice_tells_the_assigned_dm_once_and_nobody_else(
    service: RunningService,
) -> None:
    client_id = await service.create_client("u-42", name="Northwind")
    (envelope,) = await service.publish(tier_changed(client_id), source="tiering")
    # A second copy past JetStream's duplicate window: only the consumer's inbox can stop it.
    connection = await nats.connect(service.nats_url)
    await connection.jetstream().publish(envelope.data.subject, envelope.to_json(), stream="TIERING")
    await connection.close()

    (notification,) = await service.wait_for("u-42", client_id=client_id, rule="tier_changed")
    await settle()
    assert await service.notified_by(envelope.id) == ["u-42"]
    assert notification["title"] == "Northwind: Core → Platinum"
    assert "4.05" in notification["body"]
    assert notification["link"] == f"/clients/{client_id}/tiering/history#r-1"
    assert await service.inbox("u-77", client_id=client_id) == []


async def test_a_reassignment_before_the_tier_change_routes_it_to_the_new_dm(service: RunningService) -> None:
    client_id = await service.create_client("u-42", name="Harbor")
    await service.publish(
        ClientAssigned(client_id=client_id, dm_id="u-9", squad_id="s-1", previous_dm_id="u-42", assigned_by="u-exec"),
        source="clients",
    )
    assert await service.wait_for("u-9", client_id=client_id, rule="client_assigned")
    (envelope,) = await service.publish(tier_changed(client_id), source="tiering")

    assert await service.wait_for("u-9", client_id=client_id, rule="tier_changed")
    assert await service.notified_by(envelope.id) == ["u-9"]


async def test_a_tier_change_that_outruns_the_clients_creation_waits_for_it(service: RunningService) -> None:
    """TierChanged and ClientCreated travel on different streams: the later-arriving creation still routes it."""
    client_id = unique("c")
    (envelope,) = await service.publish(tier_changed(client_id), source="tiering")
    await settle(0.5)
    from clientpulse.shared.contracts.events import ClientCreated, ClientStatus

    await service.publish(
        ClientCreated(
            client_id=client_id, name="Late", status=ClientStatus.ACTIVE, dm_id="u-late", squad_id="s-1", created_by="u"
        ),
        source="clients",
    )
    assert await service.wait_for("u-late", client_id=client_id, rule="tier_changed", within=20)
    assert await service.notified_by(envelope.id) == ["u-late"]


async def test_red_health_deal_won_backfill_and_recalculation_reach_their_people(service: RunningService) -> None:
    client_id = await service.create_client("u-43", name="Bluebird")
    now = datetime.now(UTC)
    red, still_red = (
        HealthScoreRecorded(
            client_id=client_id,
            health_id=unique("h"),
            score=score,
            band=HealthBand.RED,
            previous_band=previous,
            recorded_by="u-43",
            recorded_at=now,
        )
        for score, previous in ((35, HealthBand.AMBER), (30, HealthBand.RED))
    )
    deal = DealWon(deal_id=unique("d"), client_id=unique("co"), company_name="Kestrel", won_at=now)
    failed = BackfillFailed(
        backfill_id=unique("b"), client_id=client_id, days=60, reason="the Meta token expired", requested_by="u-44"
    )
    period = f"2099-{int(client_id[-2:], 16) % 12 + 1:02d}"
    recalculated = RecalculationCompleted(
        period=period, run_id=unique("run"), recalculated=10, changed=2, skipped_never_scored=1, failed=0
    )
    envelopes = await service.publish(red, still_red, deal, failed, recalculated)

    (health,) = await service.wait_for("u-43", client_id=client_id, rule="health_red")
    assert "35" in health["title"]
    for head in HEADS:
        assert await service.wait_for(head, rule="conversion_prompt", client_id=deal.client_id)
    (backfill,) = await service.wait_for("u-44", rule="backfill_failed", client_id=client_id)
    assert "Meta token expired" in backfill["body"]
    for executive in ("u-exec", "u-exec-2"):
        assert await service.wait_for(
            executive, rule="recalculation_completed", title=f"Tier recalculation {period}: 2 tier changes"
        )
    await settle()
    assert await service.notified_by(envelopes[1].id) == []  # staying Red tells nobody again


async def test_an_overdue_qbr_tells_the_dm_and_escalates_to_the_squads_head_once(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await service.create_client("u-45", squad_id="s-1", name="Osprey")
    logged_client = await service.create_client("u-45", squad_id="s-1", name="Logged")
    due_on = date(2026, 10, 1)
    *_, logged = await service.publish(
        QbrOverdue(client_id=client_id, due_on=due_on, days_overdue=3, dm_id="u-45", squad_id="s-1"),
        QbrOverdue(client_id=logged_client, due_on=due_on, days_overdue=3, dm_id="u-45", squad_id="s-1"),
        QbrLogged(
            client_id=logged_client,
            qbr_id="q-1",
            held_on=date(2026, 10, 6),
            next_due_on=date(2027, 1, 6),
            logged_by="u-45",
        ),
        source="clients",
    )
    assert await service.wait_for("u-45", client_id=client_id, rule="qbr_overdue")
    assert await service.wait_for("u-45", client_id=logged_client, rule="qbr_overdue")
    assert await wait_until(lambda: service.handled(logged.id), within=15)

    too_early = await escalate_overdue_qbrs(service.database, date(2026, 10, 17), service.settings.squad_heads)
    assert too_early.episodes == 0
    assert await service.inbox(HEADS[0], client_id=client_id) == []

    monkeypatch.setenv("CLIENTPULSE_NOTIFICATIONS_DATABASE_URL", service.database.url)
    monkeypatch.setenv("CLIENTPULSE_NOTIFICATIONS_SQUAD_HEADS", '{"s-1": ["u-head-1"]}')
    assert await _run_cli(["escalate", "--today", "2026-10-18"]) == 0
    (escalated,) = await service.inbox(HEADS[0], client_id=client_id)
    assert escalated["rule"] == "qbr_escalated"
    assert await service.inbox(HEADS[0], client_id=logged_client) == []  # its QBR was logged meanwhile
    assert await service.inbox(HEADS[1], client_id=client_id) == []  # a Head of no squad of the client's

    again = await escalate_overdue_qbrs(service.database, date(2026, 11, 30), service.settings.squad_heads)
    assert again.episodes == 0
    assert len(await service.inbox(HEADS[0], client_id=client_id)) == 1


async def _run_cli(argv: list[str]) -> int:
    import asyncio

    # The CLI runs its own event loop, as the CronJob does.
    return await asyncio.to_thread(cli_main, argv)


async def test_a_notification_is_also_emailed_when_the_user_has_an_address(service: RunningService, mailbox) -> None:
    client_id = await service.create_client(EMAIL_USER, name="Mailed Co")

    async def emailed() -> bool:
        return any("Mailed Co" in m["data"] for m in mailbox.messages)

    assert await wait_until(emailed, within=15)
    (message,) = [m for m in mailbox.messages if "Mailed Co" in m["data"]]
    assert message["to"] == ["dana@agency.test"]
    assert f"/clients/{client_id}" in message["data"]
    assert not any(client_id in m["data"] for m in mailbox.messages if m["to"] != ["dana@agency.test"])


async def test_a_user_sees_reads_and_pages_only_their_own_notifications(service: RunningService) -> None:
    for name in ("One", "Two", "Three"):
        await service.create_client("u-46", name=name)
    await service.create_client("u-47", name="Not yours")
    async with service.http("u-46") as mine, service.http("u-47") as theirs:
        first = (await mine.get("/api/v1/me/notifications", params={"limit": 2})).json()
        assert [n["title"] for n in first["items"]] == [
            "You are the delivery manager of Three",
            "You are the delivery manager of Two",
        ]
        rest = (await mine.get("/api/v1/me/notifications", params={"cursor": first["next_cursor"]})).json()
        assert [n["title"] for n in rest["items"]] == ["You are the delivery manager of One"]
        assert rest["next_cursor"] is None

        assert (await mine.get("/api/v1/me/notifications/unread-count")).json() == {"unread": 3}
        one = first["items"][0]["id"]
        assert (await theirs.post(f"/api/v1/me/notifications/{one}/read")).status_code == 404
        read = await mine.post(f"/api/v1/me/notifications/{one}/read")
        assert read.status_code == 200 and read.json()["read_at"] is not None
        unread = (await mine.get("/api/v1/me/notifications", params={"unread": "true"})).json()["items"]
        assert one not in [n["id"] for n in unread] and len(unread) == 2
        assert (await mine.post("/api/v1/me/notifications/read-all")).json() == {"marked": 2}
        assert (await mine.get("/api/v1/me/notifications/unread-count")).json() == {"unread": 0}
        assert (await theirs.get("/api/v1/me/notifications/unread-count")).json() == {"unread": 1}
        bad = await mine.get("/api/v1/me/notifications", params={"cursor": "not-a-cursor!"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
