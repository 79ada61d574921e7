"""Client profiles against real PostgreSQL and NATS: every change publishes its event through the outbox,
tiering's, results' and insights' events come in through the inbox (duplicates ignored), and the daily
QBR check announces each overdue episode once."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import nats
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from clients_testkit import EXECUTIVE, MANAGER_S1, MANAGER_S2, as_user, running_clients_service

from clientpulse.clients.cli import check_qbrs
from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import (
    AnalysisGenerated,
    GoalMeasurement,
    GoalsMeasured,
    ScoreRecorded,
    Tier,
    TierChangeCause,
    TierChanged,
)
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


async def events_on(nats_url: str, subject: str, client_id: str, *, settle: float = 1.5) -> list[dict]:
    """Every event on ``subject`` about one client, read from the stream's start."""
    connection = await nats.connect(nats_url)
    try:
        sub = await connection.jetstream().pull_subscribe(subject, durable=None)
        found: list[dict] = []
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            try:
                for message in await sub.fetch(50, timeout=settle):
                    body = json.loads(message.data)
                    if body["subject"] == client_id:
                        found.append(body)
            except TimeoutError:  # nats-py raises the bare asyncio one when the deadline runs out mid-fetch
                if found:
                    return found
        return found
    finally:
        await connection.close()


async def new_client(api, name: str, *, status: str = "Active", dm: str = "u-42", squad: str = "s-1") -> str:
    company = (await api.post("/api/v1/companies", json={"name": name}, headers=as_user(EXECUTIVE))).json()
    response = await api.post(
        f"/api/v1/companies/{company['id']}/convert",
        json={"status": status, "dm_id": dm, "squad_id": squad},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return company["id"]


async def assert_profile_events_published(nats_url: str, *, child: str, parent: str) -> None:
    """Each profile change of the child went out once; the parent's QBR announced its next due date."""
    for subject, count in [
        ("clients.v1.health.recorded", 1),
        ("clients.v1.client.status_changed", 1),
        ("clients.v1.client.group_changed", 1),
        ("clients.v1.client.assigned", 1),
    ]:
        assert len(await events_on(nats_url, subject, child)) == count, subject
    logged = await events_on(nats_url, "clients.v1.qbr.logged", parent)
    assert [e["data"]["next_due_on"] for e in logged] == ["2027-01-15"]  # unscored: 12 months


async def test_profile_changes_publish_their_events_and_fill_the_history(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        exec_ = as_user(EXECUTIVE)
        parent = await new_client(api, "Parent Group")
        child = await new_client(api, "Child Brand")

        health = await api.post(f"/api/v1/clients/{child}/health", json={"score": 39, "note": "slow"}, headers=exec_)
        assert health.status_code == 201, health.text
        assert health.json()["band"] == "Red"
        for bad in ({"score": 101}, {"score": -1}, {"score": 50.5}, {"score": "50"}):
            refused = await api.post(f"/api/v1/clients/{child}/health", json=bad, headers=exec_)
            assert refused.status_code == 422, (bad, refused.text)

        status = await api.patch(
            f"/api/v1/clients/{child}", json={"status": "Dormant", "status_reason": "paused budget"}, headers=exec_
        )
        assert status.json() | {"status": "Dormant", "status_reason": "paused budget"} == status.json()
        grouped = await api.patch(f"/api/v1/clients/{child}", json={"parent_id": parent}, headers=exec_)
        assert grouped.status_code == 200
        cycle = await api.patch(f"/api/v1/clients/{parent}", json={"parent_id": child}, headers=exec_)
        assert cycle.status_code == 409
        itself = await api.patch(f"/api/v1/clients/{parent}", json={"parent_id": parent}, headers=exec_)
        assert itself.status_code == 422
        members = await api.get(f"/api/v1/groups/{parent}/members", headers=exec_)
        assert [m["id"] for m in members.json()] == [child]
        parent_history = (await api.get(f"/api/v1/clients/{parent}/history", headers=exec_)).json()["items"]
        assert parent_history[0]["type"] == "GroupMemberAdded"

        manager_assigns = await api.patch(
            f"/api/v1/clients/{child}", json={"dm_id": "u-77"}, headers=as_user(MANAGER_S1)
        )
        assert manager_assigns.status_code == 403
        moved = await api.patch(f"/api/v1/clients/{child}", json={"dm_id": "u-77", "squad_id": "s-2"}, headers=exec_)
        assert moved.status_code == 200
        assert (await api.get(f"/api/v1/clients/{child}", headers=as_user(MANAGER_S1))).status_code == 404
        assert (await api.get(f"/api/v1/clients/{child}", headers=as_user(MANAGER_S2))).status_code == 200

        qbr = await api.post(
            f"/api/v1/clients/{parent}/qbrs",
            json={"held_on": "2026-01-15", "internal_attendees": ["u-42"], "client_attendees": ["CFO"],
                  "summary": "Good year", "outcomes": ["expand"]},
            headers=exec_,
        )  # fmt: skip
        assert qbr.status_code == 201, qbr.text

        history = (await api.get(f"/api/v1/clients/{child}/history", headers=exec_)).json()["items"]
        types = [entry["type"] for entry in history]
        assert types == ["ClientAssigned", "ClientGroupChanged", "ClientStatusChanged", "HealthScoreRecorded",
                         "ClientCreated"]  # fmt: skip
        assert "Active to Dormant: paused budget" in history[2]["line"]
        assert history[2]["actor"] == "u-exec"
        only_health = await api.get(f"/api/v1/clients/{child}/history?type=HealthScoreRecorded", headers=exec_)
        assert [e["type"] for e in only_health.json()["items"]] == ["HealthScoreRecorded"]

        await assert_profile_events_published(clean_nats, child=child, parent=parent)


def foreign_events(client: str, now: datetime) -> tuple[Envelope, Envelope, Envelope, Envelope, Envelope]:
    """Tiering's score and two tier changes (the last one older than the second), an analysis and a sync."""
    old_ratings = now - timedelta(days=120)
    score = wrap(
        ScoreRecorded(client_id=client, receipt_id="r-1", track="managed", score=Decimal("4.10"),
                      computed_tier=Tier.PLATINUM, effective_tier=Tier.PLATINUM, framework_version=1,
                      ratings_recorded_at=old_ratings, recorded_by="u-exec"),
        source="tiering", time=now - timedelta(minutes=5),
    )  # fmt: skip
    newer = wrap(
        TierChanged(client_id=client, old_tier=Tier.PLATINUM, new_tier=Tier.REVIEW, old_score=None,
                    new_score=None, cause=TierChangeCause.OVERRIDE),
        source="tiering", time=now,
    )  # fmt: skip
    late = wrap(
        TierChanged(client_id=client, old_tier=None, new_tier=Tier.CORE, old_score=None, new_score=None,
                    cause=TierChangeCause.SCORE_NOW),
        source="tiering", time=now - timedelta(minutes=10),
    )  # fmt: skip
    analysis = wrap(
        AnalysisGenerated(client_id=client, analysis_id="a-1", week="2026-W48", health_score=72,
                          status="good", generated_by="deterministic"),
        source="insights",
    )  # fmt: skip
    measured = wrap(
        GoalsMeasured(client_id=client, measured_on=date(2026, 1, 31), goals=[]),
        source="results",
    )  # fmt: skip
    return score, newer, late, analysis, measured


async def test_foreign_events_come_in_once_and_late_ones_never_overwrite(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        exec_ = as_user(EXECUTIVE)
        client = await new_client(api, "Tiered Co")
        goal = await api.post(
            f"/api/v1/clients/{client}/goals",
            json={"name": "Q1 revenue", "target": "1000", "period_start": "2026-01-01",
                  "period_end": "2026-12-31", "metric": "revenue"},
            headers=exec_,
        )  # fmt: skip
        assert goal.status_code == 201, goal.text
        now = datetime.now(UTC)
        score, newer, late, analysis, measured = foreign_events(client, now)
        goal_id = goal.json()["id"]
        measured = wrap(
            GoalsMeasured(client_id=client, measured_on=date(2026, 1, 31), goals=[
                GoalMeasurement(goal_id=goal_id, metric="revenue", current=Decimal("420.5"),
                                period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), status="Off Track")]),
            source="results",
        )  # fmt: skip
        await publish_envelopes(clean_nats, [score, newer, late, analysis, measured])
        connection = await nats.connect(clean_nats)  # duplicates past the dedup window
        for copy in (score, newer):
            await connection.jetstream().publish(copy.data.subject, copy.to_json(), stream="TIERING")
        await connection.close()

        async def history_types() -> list[str]:
            items = (await api.get(f"/api/v1/clients/{client}/history", headers=exec_)).json()["items"]
            return [entry["type"] for entry in items]

        assert await wait_until(lambda: _has_all(history_types, 5), within=15)
        await asyncio.sleep(1.0)
        types = await history_types()
        assert sorted(types) == sorted(["ClientCreated", "GoalCreated", "ScoreRecorded", "TierChanged",
                                        "TierChanged", "AnalysisGenerated"])  # fmt: skip
        read = (await api.get(f"/api/v1/clients/{client}", headers=exec_)).json()
        assert read["tier"] == "Review"  # the late Core change is older than the Review one
        assert read["stale"] is True
        assert Decimal(read["tier_score"]) == Decimal("4.10")
        assert read["review_action_due_on"] == (now.date() + timedelta(days=30)).isoformat()
        listed = await api.get("/api/v1/clients?tier=Review&stale=true", headers=exec_)
        assert [c["id"] for c in listed.json()["items"]] == [client]
        assert (await api.get("/api/v1/clients?tier=Core", headers=exec_)).json()["items"] == []

        async def goal_current() -> bool:
            goals = (await api.get(f"/api/v1/clients/{client}/goals", headers=exec_)).json()["items"]
            return Decimal(goals[0]["current"]) == Decimal("420.5")

        assert await wait_until(goal_current, within=10)


async def _has_all(source, count: int) -> bool:
    return len(await source()) > count


async def test_the_daily_check_announces_each_overdue_episode_once(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        exec_ = as_user(EXECUTIVE)
        client = await new_client(api, "Late Reviews Ltd")
        held = await api.post(
            f"/api/v1/clients/{client}/qbrs", json={"held_on": "2024-03-01", "summary": "kick-off"}, headers=exec_
        )
        assert held.status_code == 201
        today = date(2026, 11, 24)
        assert await check_qbrs(postgres_url, today) == 1
        assert await check_qbrs(postgres_url, today) == 0  # a re-fired CronJob changes nothing
        assert await check_qbrs(postgres_url, today + timedelta(days=1)) == 0  # same episode
        events = await events_on(clean_nats, "clients.v1.qbr.overdue", client)
        assert [(e["data"]["due_on"], e["data"]["dm_id"]) for e in events] == [("2025-03-01", "u-42")]

        attention = (await api.get("/api/v1/me/attention", headers=as_user(MANAGER_S1))).json()
        assert (attention["overdue_qbrs"], attention["low_health"]) == (1, 0)
        assert (await api.get("/api/v1/me/attention", headers=as_user(MANAGER_S2))).json()["count"] == 0

        await api.post(
            f"/api/v1/clients/{client}/qbrs", json={"held_on": "2025-06-01", "summary": "late one"}, headers=exec_
        )
        assert await check_qbrs(postgres_url, today) == 1  # a new due date (2026-06-01) is a new episode
        qbrs = (await api.get(f"/api/v1/clients/{client}/qbrs", headers=exec_)).json()["items"]
        corrected = await api.patch(
            f"/api/v1/clients/{client}/qbrs/{qbrs[0]['id']}", json={"held_on": "2024-03-01"}, headers=exec_
        )
        assert corrected.status_code == 200  # back to the first due date, whose episode was announced
        assert await check_qbrs(postgres_url, today) == 0
        events = await events_on(clean_nats, "clients.v1.qbr.overdue", client)
        assert sorted(e["data"]["due_on"] for e in events) == ["2025-03-01", "2026-06-01"]


async def test_companies_import_reports_each_row_and_never_half_imports(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        exec_ = as_user(EXECUTIVE)
        client = await new_client(api, "Existing Client")
        csv_body = (
            "id,name,domain,industry\n"
            f"{client},Existing Client Renamed,,\n"  # by id: updated, and it is a client
            ",Fresh Co,fresh.example,Retail\n"  # created
            ",Fresh Again,FRESH.example,\n"  # same domain as row 2 in one file: rejected
            ",,nameless.example,\n"  # no name: rejected
        )
        response = await api.post(
            "/api/v1/companies/import", content=csv_body.encode(), headers=exec_ | {"Content-Type": "text/csv"}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["created"], report["updated"], report["rejected"]) == (1, 1, 2)
        assert [row["outcome"] for row in report["rows"]] == ["updated", "created", "rejected", "rejected"]
        assert "row 2" in report["rows"][2]["reason"]
        assert "name" in report["rows"][3]["reason"]
        listed = await api.get("/api/v1/companies?search=fresh", headers=exec_)
        assert [c["name"] for c in listed.json()["items"]] == ["Fresh Co"]
        renamed = await events_on(clean_nats, "clients.v1.client.updated", client)
        assert [e["data"]["name"] for e in renamed] == ["Existing Client Renamed"]

        again = await api.post(
            "/api/v1/companies/import?all_or_nothing=true",
            json=[{"name": "Would Be Created"}, {"name": "Fresh Co", "domain": "fresh.example"}, {"nme": "typo"}],
            headers=exec_,
        )
        assert again.status_code == 422
        assert again.json()["report"]["rows"][2]["outcome"] == "rejected"
        nothing = await api.get("/api/v1/companies?search=would be", headers=exec_)
        assert nothing.json()["items"] == []
        updated_by_domain = await api.post(
            "/api/v1/companies/import", json=[{"name": "Fresh Co", "domain": "Fresh.Example", "industry": "Food"}],
            headers=exec_,
        )  # fmt: skip
        assert updated_by_domain.json()["rows"][0]["outcome"] == "updated"


async def test_a_recalculated_score_reaches_the_client_through_tier_changed(postgres_url: str, clean_nats: str) -> None:
    """Recalculation publishes TierChanged (with the new score), not ScoreRecorded: the list must follow it."""
    async with running_clients_service(postgres_url, clean_nats) as api:
        client = await new_client(api, "Recalculated Co")
        now = datetime.now(UTC)
        rated = now - timedelta(days=10)
        scored = wrap(
            ScoreRecorded(client_id=client, receipt_id="r-1", track="managed", score=Decimal("3.10"),
                          computed_tier=Tier.CORE, effective_tier=Tier.CORE, framework_version=1,
                          ratings_recorded_at=rated, recorded_by="u-exec"),
            source="tiering", time=now - timedelta(minutes=5),
        )  # fmt: skip
        recalculated = wrap(
            TierChanged(client_id=client, old_tier=Tier.CORE, new_tier=Tier.PLATINUM, old_score=Decimal("3.10"),
                        new_score=Decimal("4.05"), cause=TierChangeCause.RECALCULATION, receipt_id="r-2"),
            source="tiering", time=now,
        )  # fmt: skip
        await publish_envelopes(clean_nats, [scored, recalculated])

        async def platinum() -> bool:
            body = (await api.get(f"/api/v1/clients/{client}", headers=as_user(EXECUTIVE))).json()
            return body.get("tier") == "Platinum"

        assert await wait_until(platinum, within=15)
        body = (await api.get(f"/api/v1/clients/{client}", headers=as_user(EXECUTIVE))).json()
        assert Decimal(body["tier_score"]) == Decimal("4.05")
        assert body["ratings_recorded_at"] is not None  # the ratings' age is kept from ScoreRecorded
