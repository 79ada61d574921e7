"""The first walk through the whole system: an Executive converts a company into a client through
the gateway; the ClientCreated event crosses NATS to the other services; access is enforced on
every hop; bad requests get problem details."""

from __future__ import annotations

import time

import httpx
import pytest
from contract_client import published_contract
from harness import System, eventually

from clientpulse.shared.identity import Role

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def converted(system: System) -> dict:
    """A company converted into a client by an Executive, assigned to manager u-42 of squad s-1."""
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        company = executive.post("/api/v1/companies", json={"name": "Northwind Outfitters", "industry": "Apparel"})
        assert company.status_code == 201, company.text
        assert company.headers["location"] == f"/api/v1/companies/{company.json()['id']}"
        client = executive.post(
            f"/api/v1/companies/{company.json()['id']}/convert", json={"dm_id": "u-42", "squad_id": "s-1"}
        )
        assert client.status_code == 201, client.text
        return client.json()


def test_an_executive_converts_a_company_into_a_client(system: System, converted: dict) -> None:
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        read = executive.get(f"/api/v1/clients/{converted['id']}")
        again = executive.post(f"/api/v1/companies/{converted['id']}/convert", json={})
    assert read.status_code == 200
    assert read.json() | {"name": "Northwind Outfitters", "status": "Prospect", "dm_id": "u-42"} == read.json()
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM)


def test_client_created_reaches_the_notifications_service_over_nats(system: System, converted: dict) -> None:
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:

        def dm_notified() -> list[dict]:
            response = dm.get("/api/v1/me/notifications")
            assert response.status_code == 200, response.text
            return [n for n in response.json()["items"] if n["client_id"] == converted["id"]]

        notifications = eventually(dm_notified)
    assert len(notifications) == 1
    assert "Northwind Outfitters" in notifications[0]["title"]
    with system.api(Role.MANAGER, "u-77", "s-2") as someone_else:
        assert someone_else.get("/api/v1/me/notifications").json()["items"] == []


def test_other_services_replicate_who_may_see_the_client(system: System, converted: dict) -> None:
    """Tiering authorises from its own replica of the client's DM and squad, kept from ClientCreated."""
    path = f"/api/v1/clients/{converted['id']}/tiering"
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:
        response = eventually(lambda: (r := dm.get(path)).status_code == 200 and r)
    assert response and response.json()["client_id"] == converted["id"]
    with system.api(Role.MANAGER, "u-77", "s-2") as other:
        assert other.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/v1/clients/{id}", "/api/v1/clients/{id}/tiering", "/api/v1/clients/{id}/connections"],
)
def test_a_manager_of_another_squad_gets_404(system: System, converted: dict, path: str) -> None:
    with system.api(Role.MANAGER, "u-77", "s-2") as other:
        response = other.get(path.format(id=converted["id"]))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_manager_of_the_clients_squad_sees_it(system: System, converted: dict) -> None:
    with system.api(Role.MANAGER, "u-55", "s-1") as squad_mate:
        assert squad_mate.get(f"/api/v1/clients/{converted['id']}").status_code == 200


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.LEAD])
def test_lead_and_employee_get_403_on_the_clients_module(system: System, converted: dict, role: Role) -> None:
    with system.api(role, "u-emp", "s-1") as api:
        for response in (api.get(f"/api/v1/clients/{converted['id']}"), api.get("/api/v1/companies")):
            assert response.status_code == 403
            assert response.headers["content-type"].startswith(PROBLEM)


def test_missing_or_expired_tokens_get_401(system: System, converted: dict) -> None:
    url = f"/api/v1/clients/{converted['id']}"
    expired = system.token(Role.EXECUTIVE, "u-exec", ttl=60, now=time.time() - 3600)
    with system.anonymous() as anonymous:
        with anonymous.invalid_request():  # the document asks every call here for a bearer token
            missing = anonymous.get(url)
        wrong = [anonymous.get(url, headers={"Authorization": f"Bearer {token}"}) for token in (expired, "not-a-jwt")]
    for response in (missing, *wrong):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith(PROBLEM)


def test_a_malformed_body_is_a_422_problem(system: System) -> None:
    with system.api(Role.EXECUTIVE, "u-exec") as executive, executive.invalid_request():
        missing_name = executive.post("/api/v1/companies", json={"industry": "Apparel"})
        not_json = executive.post(
            "/api/v1/companies", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        bad_status = executive.post("/api/v1/companies/x/convert", json={"status": "Gold"})
    for response in (missing_name, not_json, bad_status):
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    assert missing_name.status_code == 422
    assert "name" in missing_name.json()["detail"]


def test_the_gateway_serves_one_openapi_document_for_every_service(system: System) -> None:
    # The document itself is no operation of the API: it is what every other request here is checked against.
    document = httpx.get(f"{system.gateway_url}/schema/openapi.json").json()
    assert document == published_contract().document
    assert document["openapi"].startswith("3.1")
    for path in ("/api/v1/companies", "/api/v1/clients/{client_id}", "/api/v1/tiering/framework",
                 "/api/v1/me/notifications", "/api/v1/clients/{client_id}/connections", "/api/v1/me"):  # fmt: skip
        assert path in document["paths"], path
