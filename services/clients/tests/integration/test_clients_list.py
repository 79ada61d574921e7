"""The client list on PostgreSQL and on SQLite (the embedded default): filters, sorting, cursor pages,
row flags and the attention count."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from clients_testkit import EXECUTIVE, MANAGER_S1, MANAGER_S2, as_user, running_clients_service

pytestmark = pytest.mark.integration

# name, status, squad, health, last QBR
CLIENTS = [
    ("Alpha", "Active", "s-1", 35, "2024-01-10"),  # overdue and low health
    ("Bravo", "Active", "s-1", 80, None),  # Active today: due in 12 months
    ("Charlie", "Dormant", "s-1", 20, "2023-05-01"),  # not Active: never overdue, not counted
    ("Delta", "Active", "s-2", 39, "2026-01-10"),  # another squad
    ("Echo", "Prospect", "s-1", 70, None),
]


async def seed_clients(api, exec_: dict[str, str]) -> dict[str, str]:
    """Create and convert the ``CLIENTS``, record their health and last QBR; their ids by name."""
    ids: dict[str, str] = {}
    for name, status, squad, health, qbr in CLIENTS:
        company = (await api.post("/api/v1/companies", json={"name": name}, headers=exec_)).json()
        ids[name] = company["id"]
        await api.post(
            f"/api/v1/companies/{company['id']}/convert",
            json={"status": status, "dm_id": "u-" + squad, "squad_id": squad},
            headers=exec_,
        )
        recorded = await api.post(f"/api/v1/clients/{ids[name]}/health", json={"score": health}, headers=exec_)
        assert recorded.status_code == 201
        if qbr:
            logged = await api.post(f"/api/v1/clients/{ids[name]}/qbrs", json={"held_on": qbr, "summary": "s"},
                                    headers=exec_)  # fmt: skip
            assert logged.status_code == 201
    return ids


async def page_by_page(api, query: str, headers: dict[str, str]) -> list[str]:
    """Walk the client list with its cursors; each page's names joined by commas."""
    pages: list[str] = []
    cursor = None
    while True:
        page_query = query + (f"&cursor={cursor}" if cursor else "")
        body = (await api.get(f"/api/v1/clients?{page_query}", headers=headers)).json()
        pages.append(",".join(row["name"] for row in body["items"]))
        cursor = body["next_cursor"]
        if not cursor:
            return pages


async def test_filters_sorts_pages_and_attention(database_url: str, nats_url: str) -> None:
    async with running_clients_service(database_url, nats_url) as api:
        exec_ = as_user(EXECUTIVE)
        await seed_clients(api, exec_)

        async def names(query: str, who=exec_) -> list[str]:
            response = await api.get(f"/api/v1/clients?{query}", headers=who)
            assert response.status_code == 200, response.text
            return [row["name"] for row in response.json()["items"]]

        assert await names("status=Active&sort=name") == ["Alpha", "Bravo", "Delta"]
        assert await names("health_band=Red&sort=-health") == ["Delta", "Alpha", "Charlie"]
        assert await names("squad_id=s-1&sort=health") == ["Charlie", "Alpha", "Echo", "Bravo"]
        assert await names("sort=next_qbr_due") == ["Charlie", "Alpha", "Delta", "Bravo", "Echo"]  # Echo: none
        assert await names("q=LPH") == ["Alpha"]
        assert await names("tier=unscored&stale=false&status=Prospect") == ["Echo"]
        assert await names("sort=name", as_user(MANAGER_S2)) == ["Delta"]

        pages = await page_by_page(api, "sort=-name&limit=2", exec_)
        assert pages == ["Echo,Delta", "Charlie,Bravo", "Alpha"]
        name_cursor = (await api.get("/api/v1/clients?sort=name&limit=1", headers=exec_)).json()["next_cursor"]
        wrong_sort = await api.get(f"/api/v1/clients?sort=health&cursor={name_cursor}", headers=exec_)
        assert wrong_sort.status_code == 422
        forged = base64.urlsafe_b64encode(json.dumps({"s": "name", "k": [1], "id": "x"}).encode()).decode()
        assert (await api.get(f"/api/v1/clients?sort=name&cursor={forged}", headers=exec_)).status_code == 422

        rows = {row["name"]: row for row in (await api.get("/api/v1/clients", headers=exec_)).json()["items"]}
        assert (
            rows["Alpha"] | {"qbr_overdue": True, "next_qbr_due_on": "2025-01-10", "health_band": "Red"}
            == rows["Alpha"]
        )
        assert rows["Charlie"]["qbr_overdue"] is False
        assert rows["Bravo"]["qbr_overdue"] is False and rows["Bravo"]["next_qbr_due_on"] is not None
        assert rows["Echo"]["next_qbr_due_on"] is None

        mine = (await api.get("/api/v1/me/attention", headers=as_user(MANAGER_S1))).json()
        assert (mine["count"], mine["overdue_qbrs"], mine["low_health"]) == (2, 1, 1)
        assert [c["name"] for c in mine["clients"]] == ["Alpha"]
        everyone = (await api.get("/api/v1/me/attention", headers=exec_)).json()
        assert (everyone["overdue_qbrs"], everyone["low_health"]) == (1, 2)

        for bad in ("sort=colour", "tier=Gold", "health_band=Blue", "limit=0", "cursor=%%%"):
            response = await api.get(f"/api/v1/clients?{bad}", headers=exec_)
            assert response.status_code in (400, 422), bad
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_nul_characters_are_a_422_not_a_database_error(postgres_url: str, nats_url: str) -> None:
    async with running_clients_service(postgres_url, nats_url) as api:
        exec_ = as_user(EXECUTIVE)
        for path in ("/api/v1/clients/a%00b", "/api/v1/clients?q=a%00", "/api/v1/companies?search=%00",
                     "/api/v1/clients/a%00/qbrs"):  # fmt: skip
            response = await api.get(path, headers=exec_)
            assert response.status_code == 422, path
        created = await api.post("/api/v1/companies", json={"name": "a\u0000b"}, headers=exec_)
        imported = await api.post("/api/v1/companies/import", json=[{"name": "a\u0000b"}], headers=exec_)
    assert created.status_code == 422
    assert imported.json()["rejected"] == 1
