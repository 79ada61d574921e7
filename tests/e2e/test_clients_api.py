"""The clients service through the gateway: conversion from a won deal over NATS, the list filters, the
attention count and the role matrix on every clients route."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from harness import System, eventually

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.identity import Role
from clientpulse.shared.messaging.direct import publish_envelopes

pytestmark = pytest.mark.e2e

EXEC = (Role.EXECUTIVE, "u-exec", None)
HEAD = (Role.HEAD, "u-head", None)
OWN_MANAGER = (Role.MANAGER, "u-310", "s-31")
OTHER_MANAGER = (Role.MANAGER, "u-320", "s-32")


@pytest.fixture(scope="module")
def won(system: System) -> dict:
    """A deal won in the CRM, accepted as a client of squad s-31 with a low health score and a note."""
    deal = wrap(
        DealWon(deal_id="e2e-deal-1", client_id="crm-e2e-1", company_name="Won Deal Works", owner_id="u-310",
                won_at=datetime.now(UTC)),
        source="crm",
    )  # fmt: skip
    asyncio.run(publish_envelopes(system.nats_url, [deal]))
    with system.api(*EXEC) as executive:

        def prompt() -> dict | None:
            items = executive.get("/api/v1/conversion-prompts").json()["items"]
            return next((p for p in items if p["deal_id"] == "e2e-deal-1"), None)

        found = eventually(prompt)
        assert found, "the DealWon event did not raise a conversion prompt"
        accepted = executive.post(
            f"/api/v1/conversion-prompts/{found['id']}/accept", json={"dm_id": "u-310", "squad_id": "s-31"}
        )
        assert accepted.status_code in (200, 201), accepted.text
        client = accepted.json()
        assert executive.post(f"/api/v1/clients/{client['id']}/health", json={"score": 35}).status_code == 201
        with system.api(*OWN_MANAGER) as dm:  # the DM writes it: authors and Executives/Heads may edit
            note = dm.post(f"/api/v1/clients/{client['id']}/notes", json={"body": "**kick-off** done"})
        qbr = executive.post(f"/api/v1/clients/{client['id']}/qbrs", json={"held_on": "2026-01-10", "summary": "ok"})
        goal = executive.post(
            f"/api/v1/clients/{client['id']}/goals",
            json={"name": "ROAS", "kind": "level", "target": "4", "current": "3.7",
                  "period_start": "2026-01-01", "period_end": "2026-12-31"},
        )  # fmt: skip
        assert note.status_code == qbr.status_code == goal.status_code == 201
        return {**client, "note_id": note.json()["id"], "qbr_id": qbr.json()["id"], "goal_id": goal.json()["id"]}


def test_a_won_deal_becomes_an_active_client_once_accepted(system: System, won: dict) -> None:
    assert won["status"] == "Active"
    assert won["name"] == "Won Deal Works"
    with system.api(*EXEC) as executive:
        history = executive.get(f"/api/v1/clients/{won['id']}/history").json()["items"]
        again = executive.post(f"/api/v1/companies/{won['id']}/convert", json={})
    assert "from a won deal" in history[-1]["line"]
    assert again.status_code == 409


def test_the_list_filters_by_status_band_squad_and_text(system: System, won: dict) -> None:
    with system.api(*EXEC) as executive:
        red = executive.get("/api/v1/clients", params={"health_band": "Red", "squad_id": "s-31"}).json()["items"]
        green = executive.get("/api/v1/clients", params={"health_band": "Green", "squad_id": "s-31"}).json()
        text = executive.get("/api/v1/clients", params={"q": "deal works", "status": "Active"}).json()["items"]
        prospects = executive.get("/api/v1/clients", params={"status": "Prospect", "q": "deal works"}).json()
        bad = executive.get("/api/v1/clients", params={"sort": "colour"})
    assert [c["id"] for c in red] == [won["id"]]
    assert red[0] | {"health_band": "Red", "health_colour": "#dc2626", "stale": False, "tier": None} == red[0]
    assert red[0]["next_qbr_due_on"] == "2027-01-10"
    assert green["items"] == []
    assert [c["id"] for c in text] == [won["id"]]
    assert prospects["items"] == []
    assert bad.status_code == 422


def test_the_attention_count_for_managers(system: System, won: dict) -> None:
    with system.api(*OWN_MANAGER) as dm:
        mine = dm.get("/api/v1/me/attention").json()
    with system.api(*OTHER_MANAGER) as other:
        theirs = other.get("/api/v1/me/attention").json()
    assert (mine["count"], mine["low_health"], mine["overdue_qbrs"]) == (1, 1, 0)
    assert [c["client_id"] for c in mine["clients"]] == [won["id"]]
    assert theirs["count"] == 0
    for role in (Role.LEAD, Role.EMPLOYEE):
        with system.api(role, "u-x", "s-31") as api:
            assert api.get("/api/v1/me/attention").status_code == 403


ROUTES = [
    ("GET", "/api/v1/clients/{id}", None),
    ("PATCH", "/api/v1/clients/{id}", {"status": "Active"}),
    ("GET", "/api/v1/clients/{id}/history", None),
    ("GET", "/api/v1/groups/{id}/members", None),
    ("GET", "/api/v1/clients/{id}/health", None),
    ("POST", "/api/v1/clients/{id}/health", {"score": 35}),
    ("GET", "/api/v1/clients/{id}/qbrs", None),
    ("POST", "/api/v1/clients/{id}/qbrs", {"held_on": "2026-01-10", "summary": "again"}),
    ("GET", "/api/v1/clients/{id}/qbrs/{qbr_id}", None),
    ("PATCH", "/api/v1/clients/{id}/qbrs/{qbr_id}", {"summary": "edited"}),
    ("GET", "/api/v1/clients/{id}/goals", None),
    ("POST", "/api/v1/clients/{id}/goals",
     {"name": "x", "target": "1", "period_start": "2026-01-01", "period_end": "2026-02-01"}),
    ("GET", "/api/v1/clients/{id}/goals/{goal_id}", None),
    ("PATCH", "/api/v1/clients/{id}/goals/{goal_id}", {"name": "ROAS target"}),
    ("GET", "/api/v1/clients/{id}/notes", None),
    ("POST", "/api/v1/clients/{id}/notes", {"body": "hello"}),
    ("PATCH", "/api/v1/clients/{id}/notes/{note_id}", {"body": "**kick-off** done, signed"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_the_role_matrix_on_every_client_route(system: System, won: dict, method: str, path: str, body) -> None:
    url = path.format(id=won["id"], qbr_id=won["qbr_id"], goal_id=won["goal_id"], note_id=won["note_id"])
    for who in (EXEC, HEAD, OWN_MANAGER):
        with system.api(*who) as api:
            response = api.request(method, url, json=body)
        assert response.status_code in (200, 201), (who, response.text)
    with system.api(*OTHER_MANAGER) as other:
        assert other.request(method, url, json=body).status_code == 404
    for role in (Role.LEAD, Role.EMPLOYEE):
        with system.api(role, "u-x", "s-31") as api:
            assert api.request(method, url, json=body).status_code == 403


def test_a_deleted_note_leaves_its_place_in_the_thread(system: System, won: dict) -> None:
    with system.api(*OWN_MANAGER) as dm:
        note = dm.post(f"/api/v1/clients/{won['id']}/notes", json={"body": "temp"}).json()
        reply = dm.post(f"/api/v1/clients/{won['id']}/notes", json={"body": "re", "parent_id": note["id"]})
        with system.api(*OTHER_MANAGER) as other:
            assert other.delete(f"/api/v1/clients/{won['id']}/notes/{note['id']}").status_code == 404
        assert dm.delete(f"/api/v1/clients/{won['id']}/notes/{note['id']}").status_code == 204
        notes = {n["id"]: n for n in dm.get(f"/api/v1/clients/{won['id']}/notes").json()["items"]}
    assert reply.json()["parent_id"] == note["id"]
    assert notes[note["id"]] | {"deleted": True, "body": None} == notes[note["id"]]


def test_tier_from_tiering_reaches_the_client_list_over_nats(system: System, won: dict) -> None:
    """Score Now in tiering publishes ScoreRecorded and TierChanged; clients replicates the tier."""
    weak = {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}  # no revenue: 1.00 → Review
    with system.api(*EXEC) as executive:
        scored = eventually(
            lambda: (
                (
                    r := executive.post(
                        f"/api/v1/clients/{won['id']}/tiering/scores",
                        json={"track": "managed_delivery", "ratings": weak},
                    )
                ).status_code
                == 201
                and r
            )
        )
        assert scored, "tiering never learned of the client"

        def in_review() -> list[dict]:
            return executive.get("/api/v1/clients", params={"tier": "Review", "q": "won deal"}).json()["items"]

        rows = eventually(in_review)
        history = executive.get(f"/api/v1/clients/{won['id']}/history", params={"type": ["TierChanged"]}).json()
    assert [row["id"] for row in rows] == [won["id"]]
    assert rows[0]["review_action_due_on"] is not None
    assert rows[0]["stale"] is False
    assert [entry["source"] for entry in history["items"]] == ["tiering"]


COMPANY_ROUTES = [
    ("GET", "/api/v1/companies", None),
    ("POST", "/api/v1/companies", {"name": "Denied Co"}),
    ("GET", "/api/v1/companies/{id}", None),
    ("PATCH", "/api/v1/companies/{id}", {"industry": "Retail"}),
    ("POST", "/api/v1/companies/import", [{"name": "Denied Co"}]),
    ("POST", "/api/v1/companies/{id}/convert", {}),
    ("GET", "/api/v1/conversion-prompts", None),
    ("POST", "/api/v1/conversion-prompts/p-1/accept", {}),
    ("POST", "/api/v1/conversion-prompts/p-1/dismiss", {}),
    ("GET", "/api/v1/clients", None),
    ("DELETE", "/api/v1/clients/{id}/notes/{note_id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), COMPANY_ROUTES, ids=[f"{m} {p}" for m, p, _ in COMPANY_ROUTES])
@pytest.mark.parametrize("role", [Role.LEAD, Role.EMPLOYEE])
def test_lead_and_employee_get_403_on_every_clients_module_route(
    system: System, won: dict, method: str, path: str, body, role: Role
) -> None:
    with system.api(role, "u-x", "s-31") as api:
        response = api.request(method, path.format(id=won["id"], note_id=won["note_id"]), json=body)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_companies_import_through_the_gateway(system: System) -> None:
    csv_body = b"name,domain\nImported One,one.example\nImported One Again,ONE.example\n"
    with system.api(*OWN_MANAGER) as dm:
        response = dm.post("/api/v1/companies/import", content=csv_body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert [row["outcome"] for row in response.json()["rows"]] == ["created", "rejected"]
