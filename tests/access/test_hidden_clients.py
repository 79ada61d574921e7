"""Beyond the per-route matrix: everything a Manager can read (each client they see and its history,
members, tier history; lists, searches, imports) never names another squad's client, while an Executive
reading the same things does, so the checks below could see a leak if there were one.
"""

from __future__ import annotations

import pytest
from world import BY_NAME, EXECUTIVE, World

pytestmark = pytest.mark.e2e

MANAGERS = ["own_manager", "dm_manager", "other_manager"]


def assert_unnamed(world: World, manager: str, text: str, where: str) -> None:
    for client in world.hidden_from(BY_NAME[manager]):
        assert client.id not in text and client.name not in text, f"{manager} learned of {client.name} from {where}"


@pytest.mark.parametrize("manager", MANAGERS)
def test_nothing_about_the_clients_a_manager_sees_names_a_hidden_one(world: World, manager: str) -> None:
    with world.http(BY_NAME[manager]) as api:
        listed = api.get("/api/v1/clients", params={"limit": 200})
        assert listed.status_code == 200, listed.text
        assert_unnamed(world, manager, listed.text, "GET /api/v1/clients")
        seen = [item["id"] for item in listed.json()["items"]]
        assert seen, f"{manager} sees no client at all"
        for client_id in seen:
            for path in (
                f"/api/v1/clients/{client_id}",
                f"/api/v1/clients/{client_id}/history",
                f"/api/v1/groups/{client_id}/members",
                f"/api/v1/clients/{client_id}/tiering",
                f"/api/v1/clients/{client_id}/tiering/history",
            ):
                answer = api.get(path, params={"limit": 200} if path.endswith("history") else None)
                assert answer.status_code == 200, (path, answer.text)
                assert_unnamed(world, manager, answer.text, path)


def test_the_manager_of_a_group_member_does_not_learn_its_parent(world: World) -> None:
    """The stranger sits in the target's group; its own Manager may not see the target."""
    path = f"/api/v1/clients/{world.stranger.id}"
    with world.http(BY_NAME["other_manager"]) as other, world.http(EXECUTIVE) as executive:
        theirs, everyone = other.get(path).json(), executive.get(path).json()
        their_history = other.get(f"{path}/history").text
        full_history = executive.get(f"{path}/history").text
    assert everyone["parent_id"] == world.target.id
    assert theirs["parent_id"] is None
    assert world.target.id in full_history
    assert world.target.id not in their_history
    assert "another client" in their_history


@pytest.mark.parametrize("manager", MANAGERS)
def test_searches_find_no_hidden_client(world: World, manager: str) -> None:
    with world.http(BY_NAME[manager]) as api, world.http(EXECUTIVE) as executive:
        for client in world.hidden_from(BY_NAME[manager]):
            for path, param in (("/api/v1/clients", "q"), ("/api/v1/companies", "search")):
                assert executive.get(path, params={param: client.name}).json()["items"], (path, client.name)
                found = api.get(path, params={param: client.name})
                assert found.status_code == 200, found.text
                assert found.json()["items"] == [], f"{manager} found {client.name} with {path}?{param}="


def test_an_import_never_matches_or_reports_a_hidden_company(world: World) -> None:
    """By id a hidden company's row is refused without saying why; by domain it is no match at all."""
    rows = [{"id": world.stranger.id, "name": "Taken Id"}, {"name": "Domain Twin", "domain": world.stranger.domain}]
    with world.http(BY_NAME["own_manager"]) as api:
        answer = api.post("/api/v1/companies/import", json=rows)
    assert answer.status_code == 200, answer.text
    by_id, by_domain = answer.json()["rows"]
    assert by_id["outcome"] == "rejected" and by_id["company_id"] is None
    assert by_domain["outcome"] == "created" and by_domain["company_id"] != world.stranger.id
    assert world.stranger.name not in answer.text
