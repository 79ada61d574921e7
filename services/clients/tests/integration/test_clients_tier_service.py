"""The tier service approach against real PostgreSQL and NATS: Platinum check-ins (logged, due, overdue,
counted, announced once), the senior DM rule, Review decisions, goals following the results service's
measurements, and connections and overrides in the history feed."""

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

from clientpulse.clients.cli import check_check_ins
from clientpulse.clients.domain.qbrs import add_months
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import (
    ConnectionAdded,
    ConnectionRemoved,
    GoalMeasurement,
    GoalsMeasured,
    ScoreRecorded,
    Tier,
    TierChangeCause,
    TierChanged,
    TierOverrideCleared,
    TierOverrideSet,
)
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration


def exec_() -> dict[str, str]:
    """An Executive's forwarded identity, signed now (it lives 60 seconds)."""
    return as_user(EXECUTIVE)


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


def tier_event(client: str, tier: Tier, at: datetime, old: Tier | None = None):
    return wrap(
        TierChanged(client_id=client, old_tier=old, new_tier=tier, old_score=None, new_score=Decimal("4.20"),
                    cause=TierChangeCause.SCORE_NOW, changed_by="u-exec"),
        source="tiering", time=at,
    )  # fmt: skip


async def read(api, client: str) -> dict:
    return (await api.get(f"/api/v1/clients/{client}", headers=exec_())).json()


async def listed(api, query: str) -> list[str]:
    return [c["id"] for c in (await api.get(f"/api/v1/clients?{query}", headers=exec_())).json()["items"]]


async def test_platinum_check_ins_are_due_monthly_overdue_counted_and_announced_once(
    postgres_url: str, clean_nats: str
) -> None:
    async with running_clients_service(postgres_url, clean_nats, senior_dms=["u-42"]) as api:
        client = await new_client(api, "Platinum Partners")
        core = await new_client(api, "Core Co")
        became = datetime.now(UTC) - timedelta(days=45)
        await publish_envelopes(
            clean_nats, [tier_event(client, Tier.PLATINUM, became), tier_event(core, Tier.CORE, became)]
        )

        async def platinum() -> bool:
            return (await read(api, client))["tier"] == "Platinum"

        assert await wait_until(platinum, within=15)
        body = await read(api, client)
        due = add_months(became.date(), 1)
        assert (body["next_check_in_due_on"], body["check_in_overdue"]) == (due.isoformat(), True)
        assert body["senior_dm_missing"] is False  # u-42 is a senior DM here
        assert await listed(api, "check_in_overdue=true") == [client]
        assert client not in await listed(api, "check_in_overdue=false")
        assert core in await listed(api, "check_in_overdue=false")
        attention = (await api.get("/api/v1/me/attention", headers=as_user(MANAGER_S1))).json()
        assert (attention["overdue_check_ins"], attention["count"]) == (1, 1)
        assert [c["check_in_overdue"] for c in attention["clients"]] == [True]
        assert (await api.get("/api/v1/me/attention", headers=as_user(MANAGER_S2))).json()["count"] == 0

        today = datetime.now(UTC).date()
        first = await check_check_ins(postgres_url, today, 3)
        assert (first.due, first.overdue) == (0, 1)
        again = await check_check_ins(postgres_url, today + timedelta(days=1), 3)
        assert (again.due, again.overdue) == (0, 0)  # the same episode is announced once
        overdue = await events_on(clean_nats, "clients.v1.check_in.overdue", client)
        assert [(e["data"]["due_on"], e["data"]["dm_id"]) for e in overdue] == [(due.isoformat(), "u-42")]

        logged = await api.post(
            f"/api/v1/clients/{client}/check-ins",
            json={"held_on": today.isoformat(), "held_by": "u-42", "notes": "Roadmap and budget"},
            headers=as_user(MANAGER_S1),
        )
        assert logged.status_code == 201, logged.text
        assert logged.json()["held_by"] == "u-42"
        future = await api.post(
            f"/api/v1/clients/{client}/check-ins", json={"held_on": (today + timedelta(days=2)).isoformat()},
            headers=exec_(),
        )  # fmt: skip
        assert future.status_code == 422
        assert (await api.get(f"/api/v1/clients/{client}/check-ins", headers=as_user(MANAGER_S2))).status_code == 404
        body = await read(api, client)
        next_due = add_months(today, 1)
        assert (body["next_check_in_due_on"], body["check_in_overdue"]) == (next_due.isoformat(), False)
        assert await listed(api, "check_in_overdue=true") == []
        items = (await api.get(f"/api/v1/clients/{client}/check-ins", headers=exec_())).json()["items"]
        assert [(i["held_on"], i["notes"]) for i in items] == [(today.isoformat(), "Roadmap and budget")]

        reminded = await check_check_ins(postgres_url, next_due - timedelta(days=2), 3)
        assert (reminded.due, reminded.overdue) == (1, 0)
        assert (await check_check_ins(postgres_url, next_due, 3)).due == 0
        due_events = await events_on(clean_nats, "clients.v1.check_in.due", client)
        assert [e["data"]["due_on"] for e in due_events] == [next_due.isoformat()]
        logged_events = await events_on(clean_nats, "clients.v1.check_in.logged", client)
        assert [e["data"]["next_due_on"] for e in logged_events] == [next_due.isoformat()]
        history = (await api.get(f"/api/v1/clients/{client}/history?type=CheckInLogged", headers=exec_())).json()
        assert len(history["items"]) == 1
        assert (await read(api, core))["next_check_in_due_on"] is None  # only Platinum clients have check-ins


async def test_a_platinum_client_without_a_senior_dm_is_flagged_and_announced(
    postgres_url: str, clean_nats: str
) -> None:
    async with running_clients_service(postgres_url, clean_nats, senior_dms=["u-senior"]) as api:
        client = await new_client(api, "Needs Seniority")
        now = datetime.now(UTC)
        assert (await read(api, client))["senior_dm_missing"] is False  # not Platinum yet
        scored = wrap(
            ScoreRecorded(client_id=client, receipt_id="r-1", track="managed", score=Decimal("4.25"),
                          computed_tier=Tier.PLATINUM, effective_tier=Tier.PLATINUM, framework_version=1,
                          ratings_recorded_at=now, recorded_by="u-exec"),
            source="tiering", time=now - timedelta(minutes=1),
        )  # fmt: skip
        again = tier_event(client, Tier.PLATINUM, now, old=Tier.PLATINUM)
        await publish_envelopes(clean_nats, [scored, again])

        async def flagged() -> bool:
            return (await read(api, client))["senior_dm_missing"] is True

        assert await wait_until(flagged, within=15)
        assert await listed(api, "senior_dm_missing=true") == [client]
        await asyncio.sleep(1.0)
        missing = await events_on(clean_nats, "clients.v1.client.senior_dm_missing", client)
        assert [(e["data"]["dm_id"], e["data"]["squad_id"]) for e in missing] == [("u-42", "s-1")]  # once

        assigned = await api.patch(f"/api/v1/clients/{client}", json={"dm_id": "u-senior"}, headers=exec_())
        assert assigned.status_code == 200 and assigned.json()["senior_dm_missing"] is False
        assert await listed(api, "senior_dm_missing=true") == []
        back = await api.patch(f"/api/v1/clients/{client}", json={"dm_id": "u-junior"}, headers=exec_())
        assert back.json()["senior_dm_missing"] is True
        missing = await events_on(clean_nats, "clients.v1.client.senior_dm_missing", client)
        assert [e["data"]["dm_id"] for e in missing] == ["u-42", "u-junior"]
        history = (await api.get(f"/api/v1/clients/{client}/history?type=SeniorDmMissing", headers=exec_())).json()
        assert len(history["items"]) == 2


async def test_a_review_decision_closes_the_30_day_action(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        client = await new_client(api, "Under Review")
        core = await new_client(api, "Fine Core")
        now = datetime.now(UTC) - timedelta(days=40)
        await publish_envelopes(clean_nats, [tier_event(client, Tier.REVIEW, now), tier_event(core, Tier.CORE, now)])

        async def in_review() -> bool:
            return (await read(api, client))["tier"] == "Review" and (await read(api, core))["tier"] == "Core"

        assert await wait_until(in_review, within=15)
        body = await read(api, client)
        assert body["review_action_due_on"] == (now.date() + timedelta(days=30)).isoformat()
        assert body["review_action_overdue"] is True
        path = f"/api/v1/clients/{client}/tiering/review-decision"
        bad = await api.post(path, json={"decision": "ignore", "reason": "x"}, headers=exec_())
        assert bad.status_code == 422
        blank = await api.post(path, json={"decision": "reprice", "reason": "   "}, headers=exec_())
        assert blank.status_code == 422 and "reason" in blank.text
        hidden = await api.post(path, json={"decision": "reprice", "reason": "r"}, headers=as_user(MANAGER_S2))
        assert hidden.status_code == 404
        decided = await api.post(path, json={"decision": "reprice", "reason": "Fee up 20% from March"}, headers=exec_())
        assert decided.status_code == 201, decided.text
        assert decided.json()["decision"] == "reprice"
        body = await read(api, client)
        assert (body["review_action_due_on"], body["review_action_overdue"]) == (None, False)
        assert (body["review_decision"], body["tier"]) == ("reprice", "Review")
        twice = await api.post(path, json={"decision": "exit", "reason": "changed our mind"}, headers=exec_())
        assert twice.status_code == 409
        not_review = await api.post(
            f"/api/v1/clients/{core}/tiering/review-decision", json={"decision": "exit", "reason": "x"}, headers=exec_()
        )
        assert not_review.status_code == 409 and "Core" in not_review.text
        history = (
            await api.get(f"/api/v1/clients/{client}/history?type=ReviewDecisionRecorded", headers=exec_())
        ).json()
        assert [e["line"] for e in history["items"]] == ["Review decision: reprice (Fee up 20% from March)"]
        events = await events_on(clean_nats, "clients.v1.review.decided", client)
        assert [(e["data"]["decision"], e["data"]["action_due_on"]) for e in events] == [
            ("reprice", (now.date() + timedelta(days=30)).isoformat())
        ]


async def test_goals_follow_the_newest_measurement_of_their_own_period(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        client = await new_client(api, "Measured Co")
        goal = (
            await api.post(
                f"/api/v1/clients/{client}/goals",
                json={"name": "ROAS 4", "kind": "level", "target": "4", "period_start": "2026-01-01",
                      "period_end": "2026-03-31", "metric": "roas"},
                headers=exec_(),
            )
        ).json()  # fmt: skip
        now = datetime.now(UTC)

        def measured(value: str, at: datetime, *, start: date = date(2026, 1, 1), metric: str = "roas"):
            return wrap(
                GoalsMeasured(client_id=client, measured_on=date(2026, 2, 1), goals=[
                    GoalMeasurement(goal_id=goal["id"], metric=metric, current=Decimal(value), period_start=start,
                                    period_end=date(2026, 3, 31), status="At Risk")]),
                source="results-ingest", time=at,
            )  # fmt: skip

        newest = measured("3.75", now)
        older = measured("9.99", now - timedelta(minutes=5))
        other_period = measured("1.00", now + timedelta(minutes=1), start=date(2025, 12, 1))
        other_metric = measured("2.00", now + timedelta(minutes=1), metric="cpa_minor")
        await publish_envelopes(clean_nats, [newest, older, other_period, other_metric])

        async def current() -> Decimal:
            goals = (await api.get(f"/api/v1/clients/{client}/goals", headers=exec_())).json()["items"]
            return Decimal(goals[0]["current"])

        assert await wait_until(lambda: _equals(current, Decimal("3.75")), within=15)
        await asyncio.sleep(1.0)
        assert await current() == Decimal("3.75")  # older, other-period and other-metric figures left it alone


async def _equals(source, expected) -> bool:
    return await source() == expected


async def test_connections_and_every_override_join_the_history(postgres_url: str, clean_nats: str) -> None:
    async with running_clients_service(postgres_url, clean_nats) as api:
        client = await new_client(api, "Overridden Co")
        connection = dict(client_id=client, connection_id="k-9", platform="meta_ads", platform_name="Meta Ads",
                          account_id="act_9", account_name="Main account")  # fmt: skip
        events = [
            wrap(ConnectionAdded(**connection, added_by="u-42"), source="results-ingest"),
            wrap(ConnectionRemoved(**connection, removed_by="u-exec"), source="results-ingest"),
            # An override to the tier the client already has: the effective tier does not move.
            wrap(
                TierOverrideSet(
                    client_id=client,
                    tier=Tier.CORE,
                    reason="Strategic logo",
                    effective_tier=Tier.CORE,
                    computed_tier=Tier.CORE,
                    set_by="u-exec",
                ),
                source="tiering",
            ),
            wrap(
                TierOverrideCleared(
                    client_id=client, tier=Tier.CORE, effective_tier=Tier.CORE, expired=True, cleared_by="system"
                ),
                source="tiering",
            ),
        ]
        await publish_envelopes(clean_nats, events)

        async def lines() -> dict[str, str]:
            items = (await api.get(f"/api/v1/clients/{client}/history", headers=exec_())).json()["items"]
            return {e["type"]: e["line"] for e in items if e["type"] != "ClientCreated"}

        assert await wait_until(lambda: _count(lines, 4), within=15)
        assert await lines() == {
            "ConnectionAdded": "Meta Ads account Main account (act_9) connected",
            "ConnectionRemoved": "Meta Ads account Main account (act_9) disconnected",
            "TierOverrideSet": "Tier override set to Core: Strategic logo",
            "TierOverrideCleared": "Tier override to Core expired; effective tier Core",
        }


async def _count(source, count: int) -> bool:
    return len(await source()) >= count
