"""What-if before a framework change: an Executive proposes weights or bands and sees which clients would
move from which tier to which, with nothing written; publishing makes it the next version, used by Score
Now and by the next recalculation, while old receipts keep the version they were scored by."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import EXECUTIVE, HEAD, add_client, as_user, invoice, running_tiering_service

from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.waiting import wait_until

pytestmark = pytest.mark.integration

PROPOSALS = "/api/v1/tiering/framework/proposals"
STRONG = {"profitability": 4, "strategic_value": 4, "relationship_quality": 4}
WEAK = {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}
BEST = {"profitability": 5, "strategic_value": 5, "relationship_quality": 5}
MANAGED = {"revenue": "0.50", "profitability": "0.20", "strategic_value": "0.15", "relationship_quality": "0.15"}
SAAS = {"arr": "0.40", "product_adoption": "0.20", "growth_trajectory": "0.20", "relationship_quality": "0.20"}


async def score(api, client_id: str, ratings: dict[str, int]) -> dict:
    response = await api.post(
        f"/api/v1/clients/{client_id}/tiering/scores",
        json={"track": "managed_delivery", "ratings": ratings},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def current(api, client_id: str) -> dict:
    return (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()["current"]


async def seed(api, bus: str) -> None:
    """w-1 2.95 Standard; w-2 2.40 Standard (EUR 400k); w-3 4.65 Platinum (EUR 160k); w-4 overridden Review."""
    for client_id in ("w-1", "w-2", "w-3", "w-4"):
        await add_client(api, bus, client_id)
    await add_client(api, bus, "w-dormant", status=ClientStatus.DORMANT)
    await publish_envelopes(bus, [invoice("wi-2", "w-2", 40_000_000), invoice("wi-3", "w-3", 16_000_000)])

    async def invoiced() -> bool:
        for client_id in ("w-2", "w-3"):
            body = (await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))).json()
            if not body["trailing_revenue"]:
                return False
        return True

    assert await wait_until(invoiced, within=15)
    for client_id, ratings in (("w-1", STRONG), ("w-2", WEAK), ("w-3", BEST), ("w-4", STRONG), ("w-dormant", WEAK)):
        await score(api, client_id, ratings)
    held = await api.post(
        "/api/v1/clients/w-4/tiering/override", json={"tier": "Review", "reason": "exit"}, headers=as_user(EXECUTIVE)
    )
    assert held.status_code == 200


def moves(proposal: dict) -> list[tuple[str, str, int]]:
    return [(m["from_tier"], m["to_tier"], m["clients"]) for m in proposal["moves"]]


async def test_a_proposal_shows_who_moves_and_publishing_makes_the_next_version(
    database_url: str, clean_nats: str
) -> None:
    async with running_tiering_service(database_url, clean_nats) as api:
        await seed(api, clean_nats)
        weights = await api.post(
            PROPOSALS, json={"weights": {"managed_delivery": MANAGED, "product_saas": SAAS}}, headers=as_user(EXECUTIVE)
        )
        assert weights.status_code == 201, weights.text
        proposal = weights.json()
        assert moves(proposal) == [
            ("Platinum", "Platinum", 1), ("Review", "Review", 1), ("Standard", "Core", 1), ("Standard", "Standard", 1),
        ]  # fmt: skip
        assert (proposal["clients"], proposal["moving"], proposal["based_on_version"]) == (4, 1, 1)
        assert proposal["revenue_band_floors"] == ["300000", "150000", "75000", "30000"]  # kept as in force
        moved = (await api.get(f"{PROPOSALS}/{proposal['id']}/clients", headers=as_user(EXECUTIVE))).json()
        keys = ("client_id", "from_tier", "to_tier", "old_score", "new_score")
        listed = [tuple(c[k] for k in keys) for c in moved["items"]]
        assert listed == [("w-2", "Standard", "Core", "2.40", "3.00")]
        # Nothing was written: the framework and the scores are as they were.
        assert (await api.get("/api/v1/tiering/framework", headers=as_user(EXECUTIVE))).json()["version"] == 1
        assert (await current(api, "w-2"))["score"] == "2.40"
        bands = await check_band_proposal_and_paging(api)
        await check_refusals(api)

        published = await api.post(f"{PROPOSALS}/{proposal['id']}/publish", headers=as_user(EXECUTIVE))
        assert published.status_code == 200, published.text
        assert published.json()["version"] == 2
        assert (await api.post(f"{PROPOSALS}/{proposal['id']}/publish", headers=as_user(EXECUTIVE))).status_code == 409
        stale = await api.post(f"{PROPOSALS}/{bands}/publish", headers=as_user(EXECUTIVE))
        assert stale.status_code == 409 and "version 2 is in force" in stale.json()["detail"]
        await check_versions_and_the_next_recalculation(api)


async def check_band_proposal_and_paging(api) -> str:
    """Higher bands only: w-2 (EUR 400k → band 3) drops to Review, w-3 (EUR 160k → band 1) to Core."""
    response = await api.post(
        PROPOSALS, json={"revenue_band_floors": [500000, 450000, 400000, 350000]}, headers=as_user(EXECUTIVE)
    )
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert proposal["moving"] == 2
    first = (await api.get(f"{PROPOSALS}/{proposal['id']}/clients?limit=1", headers=as_user(EXECUTIVE))).json()
    second = (
        await api.get(
            f"{PROPOSALS}/{proposal['id']}/clients", params={"limit": 1, "cursor": first["next_cursor"]},
            headers=as_user(EXECUTIVE),
        )
    ).json()  # fmt: skip
    assert [(c["client_id"], c["to_tier"], c["new_score"]) for c in first["items"] + second["items"]] == [
        ("w-2", "Review", "1.70"), ("w-3", "Core", "3.60"),
    ]  # fmt: skip
    assert second["next_cursor"] is None
    only = await api.get(f"{PROPOSALS}/{proposal['id']}/clients?from_tier=Platinum", headers=as_user(EXECUTIVE))
    assert [c["client_id"] for c in only.json()["items"]] == ["w-3"]
    return str(proposal["id"])


async def check_refusals(api) -> None:
    """Bad proposals say what is wrong; only Executives propose."""
    short = {**MANAGED, "revenue": "0.45"}
    cases = [
        ({"weights": {"managed_delivery": short, "product_saas": SAAS}}, "sum to 0.95, not 1"),
        ({"weights": {"managed_delivery": MANAGED}}, "weights of product_saas are missing"),
        ({"revenue_band_floors": [100, 200, 300, 400]}, "below the one before"),
        ({"weights": {"managed_delivery": {**MANAGED, "revenue": "0.505"}, "product_saas": SAAS}}, "hundredths"),
        ({"note": "nothing"}, "propose weights, revenue_band_floors or both"),
    ]
    for body, detail in cases:
        response = await api.post(PROPOSALS, json=body, headers=as_user(EXECUTIVE))
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]
    assert (await api.post(PROPOSALS, json={"note": "x"}, headers=as_user(HEAD))).status_code == 403
    assert (await api.get(f"{PROPOSALS}/nope", headers=as_user(EXECUTIVE))).status_code == 404


async def check_versions_and_the_next_recalculation(api) -> None:
    """Version 2 in force (version 1 still readable); Score Now and the recalculation use it; old receipts
    keep version 1's weights."""
    framework = (await api.get("/api/v1/tiering/framework", headers=as_user(EXECUTIVE))).json()
    old = (await api.get("/api/v1/tiering/framework?version=1", headers=as_user(EXECUTIVE))).json()
    revenue = [d["weight"] for f in (framework, old) for d in f["tracks"][0]["dimensions"] if d["key"] == "revenue"]
    assert (framework["version"], old["version"], revenue) == (2, 1, ["0.50", "0.35"])
    assert (await api.get("/api/v1/tiering/framework?version=9", headers=as_user(EXECUTIVE))).status_code == 404
    today = datetime.now(UTC).date()
    requested = await api.post(
        "/api/v1/tiering/recalculations", json={"period": f"{today:%Y-%m}"}, headers=as_user(EXECUTIVE)
    )
    assert requested.status_code == 202

    async def rescored() -> bool:
        return (await current(api, "w-2"))["score"] == "3.00"

    assert await wait_until(rescored, within=30)
    w2 = await current(api, "w-2")
    assert (w2["effective_tier"], w2["framework_version"]) == ("Core", 2)
    history = (await api.get("/api/v1/clients/w-2/tiering/history", headers=as_user(EXECUTIVE))).json()["items"]
    assert [(r["kind"], r["framework_version"], r["weights"]["revenue"]) for r in history] == [
        ("recalculation", 2, "0.50"), ("score_now", 1, "0.35"),
    ]  # fmt: skip
    rescored_now = (await score(api, "w-1", STRONG))["receipt"]
    assert (rescored_now["score"], rescored_now["framework_version"], rescored_now["weights"]["revenue"]) == (
        "2.50", 2, "0.50",
    )  # fmt: skip
