"""Tiering through the whole system: an invoice published on NATS reaches the tiering ledger, a DM
scores the client through the gateway, an Executive overrides the tier, and access holds on every
tiering route (another squad's Manager 404, Lead 403, recalculations Executive only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from harness import System, eventually, logs

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.identity import Role
from clientpulse.shared.messaging.direct import publish_envelopes

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
RATINGS = {"profitability": 4, "strategic_value": 3, "relationship_quality": 3}


@pytest.fixture(scope="module")
def active_client(system: System) -> str:
    """An Active client of manager u-42 (squad s-1), known to the tiering service."""
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        company = executive.post("/api/v1/companies", json={"name": "Tidewater Analytics"})
        assert company.status_code == 201, company.text
        client = executive.post(
            f"/api/v1/companies/{company.json()['id']}/convert",
            json={"status": "Active", "dm_id": "u-42", "squad_id": "s-1"},
        )
        assert client.status_code == 201, client.text
    client_id = str(client.json()["id"])
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:
        known = eventually(lambda: dm.get(f"/api/v1/clients/{client_id}/tiering").status_code == 200)
    assert known, logs(system)
    return client_id


@pytest.fixture(scope="module")
def invoiced(system: System, active_client: str) -> str:
    """The client with EUR 160,000.00 invoiced, published by 'billing' on NATS and seen by the ledger."""
    posted = wrap(
        InvoicePosted(
            invoice_id=f"e2e-{active_client}",
            client_id=active_client,
            issued_on=datetime.now(UTC).date(),
            amount_minor=16_000_000,
            currency="EUR",
        ),
        source="billing",
    )
    asyncio.run(publish_envelopes(system.nats_url, [posted, posted]))
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:

        def in_ledger() -> list[dict]:
            return dm.get(f"/api/v1/clients/{active_client}/tiering").json()["trailing_revenue"]

        revenue = eventually(in_ledger)
    assert revenue == [{"currency": "EUR", "amount_minor": 16_000_000, "invoices": 1}], logs(system)
    return active_client


def test_the_dm_scores_the_client_now_with_revenue_from_the_ledger(system: System, invoiced: str) -> None:
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:
        response = dm.post(
            f"/api/v1/clients/{invoiced}/tiering/scores", json={"track": "managed_delivery", "ratings": RATINGS}
        )
        assert response.status_code == 201, response.text
        receipt = response.json()["receipt"]
        assert (receipt["revenue_source"], receipt["revenue_minor"], receipt["money_rating"]) == (
            "ledger",
            16_000_000,
            4,
        )
        assert (receipt["score"], receipt["effective_tier"]) == ("3.60", "Core")
        bad = dm.post(f"/api/v1/clients/{invoiced}/tiering/scores", json={"track": "gold", "ratings": RATINGS})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith(PROBLEM)
        current = dm.get(f"/api/v1/clients/{invoiced}/tiering").json()["current"]
    assert current["effective_tier"] == "Core"
    assert current["stale"] is False


def test_an_executive_overrides_the_tier_and_history_keeps_both(system: System, invoiced: str) -> None:
    path = f"/api/v1/clients/{invoiced}/tiering"
    with system.api(Role.MANAGER, "u-42", "s-1") as dm:
        dm.post(f"{path}/scores", json={"track": "managed_delivery", "ratings": RATINGS})
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        overridden = executive.post(f"{path}/override", json={"tier": "Platinum", "reason": "group flagship"})
        assert overridden.status_code == 200, overridden.text
        current = executive.get(path).json()["current"]
        history = executive.get(f"{path}/history").json()
    assert (current["effective_tier"], current["computed_tier"]) == ("Platinum", "Core")
    assert current["override"]["reason"] == "group flagship"
    assert (
        history["items"][0] | {"kind": "override", "actor": "u-exec", "effective_tier": "Platinum"}
        == history["items"][0]
    )


@pytest.mark.parametrize("suffix", ["", "/history", "/scores", "/override"])
def test_a_manager_of_another_squad_gets_404_on_tiering(system: System, active_client: str, suffix: str) -> None:
    path = f"/api/v1/clients/{active_client}/tiering{suffix}"
    with system.api(Role.MANAGER, "u-77", "s-2") as other:
        if suffix in ("", "/history"):
            response = other.get(path)
        elif suffix == "/scores":
            response = other.post(path, json={"track": "managed_delivery", "ratings": RATINGS})
        else:
            response = other.post(path, json={"tier": "Core", "reason": "mine now"})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_lead_gets_403_and_recalculations_are_for_executives_only(system: System, active_client: str) -> None:
    with system.api(Role.LEAD, "u-lead", "s-1") as lead:
        assert lead.get(f"/api/v1/clients/{active_client}/tiering").status_code == 403
        assert lead.get("/api/v1/tiering/framework").status_code == 403
    for role, sub, squad in ((Role.MANAGER, "u-42", "s-1"), (Role.HEAD, "u-head", None)):
        with system.api(role, sub, squad) as not_executive:
            assert not_executive.get("/api/v1/tiering/recalculations").status_code == 403
            assert not_executive.post("/api/v1/tiering/recalculations", json={"period": "2026-12"}).status_code == 403
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        runs = executive.get("/api/v1/tiering/recalculations")
        assert runs.status_code == 200, runs.text
        assert isinstance(runs.json()["items"], list)
        malformed = executive.post("/api/v1/tiering/recalculations", json={"period": "December"})
        assert malformed.status_code == 422


def test_an_executive_triggers_the_monthly_recalculation_once(system: System, invoiced: str) -> None:
    today = datetime.now(UTC).date()
    period = f"{today.year:04d}-{today.month:02d}"
    with system.api(Role.EXECUTIVE, "u-exec") as executive:
        requested = executive.post("/api/v1/tiering/recalculations", json={"period": period})
        assert requested.status_code == 202, requested.text

        def completed() -> list[dict]:
            return [r for r in executive.get("/api/v1/tiering/recalculations").json()["items"] if r["period"] == period]

        runs = eventually(completed)
        assert runs, logs(system)
        again = executive.post("/api/v1/tiering/recalculations", json={"period": period})
    (run,) = runs
    assert run["status"] == "completed"
    assert run["recalculated"] >= 1  # at least the invoiced, scored Active client
    assert run["failed"] == 0
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM)
