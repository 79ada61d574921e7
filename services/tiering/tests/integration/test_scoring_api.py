"""Score Now, overrides, history, access and the portfolio, against real PostgreSQL and NATS: invoices
arrive over the bus, events leave through the outbox. One app for the module."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1]))
from tiering_testkit import (
    EMPLOYEE,
    EXECUTIVE,
    HEAD,
    LEAD,
    MANAGER_S1,
    MANAGER_S2,
    add_client,
    as_user,
    invoice,
    running_tiering_service,
    stream_events,
)

from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.testing.servers import create_database, delete_all_streams, drop_database
from clientpulse.shared.testing.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PROBLEM = "application/problem+json"
USD_RATE = [{"currency": "USD", "valid_from": "2020-01-01", "rate": "0.9"}]
MANAGED = {"profitability": 4, "strategic_value": 3, "relationship_quality": 3}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(postgres_admin_url: str, nats_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The tiering service on its own PostgreSQL database and a clean bus."""
    await delete_all_streams(nats_url)
    url = await asyncio.to_thread(create_database, postgres_admin_url)
    try:
        async with running_tiering_service(url, nats_url, exchange_rates=USD_RATE) as api:
            yield api, nats_url
    finally:
        await asyncio.to_thread(drop_database, url)


async def ledger_revenue(api: httpx.AsyncClient, client_id: str) -> dict[str, tuple[int, int]]:
    response = await api.get(f"/api/v1/clients/{client_id}/tiering", headers=as_user(EXECUTIVE))
    return {r["currency"]: (r["amount_minor"], r["invoices"]) for r in response.json()["trailing_revenue"]}


async def test_a_duplicate_invoice_is_applied_once_and_score_now_uses_the_ledger(service) -> None:
    api, bus = service
    await add_client(api, bus, "c-ledger")
    first = invoice("inv-1", "c-ledger", 20_000_000)  # EUR 200,000.00
    resent = invoice("inv-1", "c-ledger", 20_000_000)  # billing sends the same invoice again, as a new event
    credit = invoice("cn-1", "c-ledger", -1_000_000, currency="USD")  # USD 10,000.00 credit → EUR 9,000.00
    await publish_envelopes(bus, [first, resent, credit])
    connection = await nats.connect(bus)  # and a redelivery of the very same message, past the dedup window
    await connection.jetstream().publish(first.data.subject, first.to_json(), stream="BILLING")
    await connection.close()

    expected = {"EUR": (20_000_000, 1), "USD": (-1_000_000, 1)}
    assert await wait_until(lambda: _equals(ledger_revenue(api, "c-ledger"), expected), within=15)

    response = await api.post(
        "/api/v1/clients/c-ledger/tiering/scores",
        json={"track": "managed_delivery", "ratings": MANAGED},
        headers=as_user(MANAGER_S1),
    )
    assert response.status_code == 201, response.text
    receipt = response.json()["receipt"]
    assert receipt["revenue_minor"] == 19_100_000  # 200,000 − 9,000 in EUR cents
    assert receipt["revenue_source"] == "ledger"
    assert receipt["money_rating"] == 4  # 150,000 ≤ R ≤ 300,000
    assert receipt["weights"] == {"revenue": "0.35", "profitability": "0.25", "strategic_value": "0.20",
                                  "relationship_quality": "0.20"}  # fmt: skip
    assert (receipt["score"], receipt["computed_tier"], receipt["effective_tier"]) == ("3.60", "Core", "Core")
    assert receipt["framework_version"] == 1
    assert receipt["actor"] == "u-42"

    events = [e for e in await stream_events(bus, "tiering.v1.>") if e["subject"] == "c-ledger"]
    kinds = sorted(e["type"] for e in events)
    assert kinds == ["clientpulse.tiering.v1.score.recorded", "clientpulse.tiering.v1.tier.changed"]
    changed = next(e["data"] for e in events if e["type"].endswith("tier.changed"))
    assert changed | {"old_tier": None, "new_tier": "Core", "cause": "score_now"} == changed
    assert changed["receipt_id"] == receipt["id"]


async def _equals(value, expected) -> bool:
    return await value == expected


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"track": "managed_delivery", "ratings": {**MANAGED, "profitability": 6}}, "profitability"),
        ({"track": "managed_delivery", "ratings": {**MANAGED, "profitability": 0}}, "profitability"),
        ({"track": "managed_delivery", "ratings": {"profitability": 4, "strategic_value": 3}}, "relationship_quality"),
        ({"track": "enterprise", "ratings": MANAGED}, "unknown track"),
        ({"track": "managed_delivery", "ratings": {**MANAGED, "revenue": 5}}, "computed"),
        ({"track": "managed_delivery", "ratings": MANAGED, "score": "5.0"}, "score"),
        ({"track": "managed_delivery", "ratings": {**MANAGED, "profitability": 3.5}}, "profitability"),
    ],
)
async def test_bad_ratings_are_a_422_that_says_what_is_wrong(service, body: dict, complaint: str) -> None:
    api, bus = service
    await add_client(api, bus, "c-bad")
    response = await api.post("/api/v1/clients/c-bad/tiering/scores", json=body, headers=as_user(EXECUTIVE))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert complaint in response.text


async def test_an_override_sets_the_effective_tier_beside_the_computed_one_until_cleared(service) -> None:
    api, bus = service
    await add_client(api, bus, "c-override")
    path = "/api/v1/clients/c-override/tiering"
    scored = await api.post(
        f"{path}/scores",
        json={"track": "product_saas", "ratings": {"product_adoption": 2, "growth_trajectory": 2,
                                                   "relationship_quality": 2}},
        headers=as_user(EXECUTIVE),
    )  # fmt: skip
    assert scored.json()["current"]["effective_tier"] == "Review"  # 0.4×1 + 0.6×2 = 1.6

    for bad in (
        {"tier": "Core", "reason": "  "},
        {"tier": "Core"},
        {"tier": "Gold", "reason": "x"},
        {"tier": "Core", "reason": "x", "expires_at": "2030-01-01T00:00:00"},  # no time zone: ambiguous
        {"tier": "Core", "reason": "x", "expires_at": "2020-01-01T00:00:00Z"},  # already past
    ):
        refused = await api.post(f"{path}/override", json=bad, headers=as_user(HEAD))
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith(PROBLEM)
    overridden = await api.post(
        f"{path}/override", json={"tier": "Core", "reason": "strategic logo, renewal pending"}, headers=as_user(HEAD)
    )
    assert overridden.status_code == 200, overridden.text
    current = overridden.json()["current"]
    assert (current["effective_tier"], current["computed_tier"], current["score"]) == ("Core", "Review", "1.60")
    assert (
        current["override"] | {"reason": "strategic logo, renewal pending", "set_by": "u-head"} == current["override"]
    )

    cleared = await api.delete(f"{path}/override", headers=as_user(EXECUTIVE))
    assert cleared.status_code == 200
    assert cleared.json()["current"]["effective_tier"] == "Review"
    assert cleared.json()["current"]["override"] is None

    history = (await api.get(f"{path}/history", headers=as_user(MANAGER_S1))).json()
    assert [(r["kind"], r["effective_tier"], r["actor"]) for r in history["items"]] == [
        ("override_cleared", "Review", "u-exec"),
        ("override", "Core", "u-head"),
        ("score_now", "Review", "u-exec"),
    ]
    assert history["items"][1]["override_reason"] == "strategic logo, renewal pending"
    assert history["trend"] == "flat"
    page = (await api.get(f"{path}/history", params={"limit": 2}, headers=as_user(EXECUTIVE))).json()
    rest = (await api.get(f"{path}/history", params={"cursor": page["next_cursor"]}, headers=as_user(EXECUTIVE))).json()
    assert [r["kind"] for r in page["items"] + rest["items"]] == ["override_cleared", "override", "score_now"]

    changes = [e["data"] for e in await stream_events(bus, "tiering.v1.tier.changed") if e["subject"] == "c-override"]
    assert [(c["old_tier"], c["new_tier"], c["cause"]) for c in changes] == [
        (None, "Review", "score_now"),
        ("Review", "Core", "override"),
        ("Core", "Review", "override"),
    ]


async def test_object_and_function_level_access(service) -> None:
    api, bus = service
    await add_client(api, bus, "c-access", dm_id="u-42", squad_id="s-1")
    path = "/api/v1/clients/c-access/tiering"
    body = {"track": "managed_delivery", "ratings": MANAGED}
    other_squad = as_user(MANAGER_S2)
    for response in (
        await api.get(path, headers=other_squad),
        await api.post(f"{path}/scores", json=body, headers=other_squad),
        await api.post(f"{path}/override", json={"tier": "Core", "reason": "x"}, headers=other_squad),
        await api.delete(f"{path}/override", headers=other_squad),
        await api.get(f"{path}/history", headers=other_squad),
        await api.get("/api/v1/groups/c-access/portfolio", headers=other_squad),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    for role in (LEAD, EMPLOYEE):
        assert (await api.get(path, headers=as_user(role))).status_code == 403
        assert (await api.post(f"{path}/scores", json=body, headers=as_user(role))).status_code == 403
    for role in (HEAD, MANAGER_S1):
        assert (await api.get("/api/v1/tiering/recalculations", headers=as_user(role))).status_code == 403
        posted = await api.post("/api/v1/tiering/recalculations", json={"period": "2026-12"}, headers=as_user(role))
        assert posted.status_code == 403
    assert (await api.post(f"{path}/scores", json=body, headers=as_user(MANAGER_S1))).status_code == 201


async def test_the_framework_serves_weights_bands_tiers_and_rubrics(service) -> None:
    api, _ = service
    framework = (await api.get("/api/v1/tiering/framework", headers=as_user(MANAGER_S1))).json()
    assert framework["version"] == 1
    assert framework["base_currency"] == "EUR"
    managed = next(t for t in framework["tracks"] if t["track"] == "managed_delivery")
    revenue = next(d for d in managed["dimensions"] if d["key"] == "revenue")
    assert (revenue["weight"], revenue["computed"], revenue["rubric"]) == ("0.35", True, None)
    for dimension in (d for t in framework["tracks"] for d in t["dimensions"] if not d["computed"]):
        assert sorted(dimension["rubric"]) == ["1", "2", "3", "4", "5"], dimension
    assert [t["tier"] for t in framework["tiers"]] == ["Platinum", "Core", "Standard", "Review"]


async def test_a_group_portfolio_rolls_up_revenue_ratings_and_tiers(service) -> None:
    api, bus = service
    await add_client(api, bus, "g-parent")
    await add_client(api, bus, "g-big", parent_id="g-parent")
    await add_client(api, bus, "g-small", parent_id="g-parent")
    await publish_envelopes(
        bus,
        [invoice("g-inv-1", "g-big", 12_000_000), invoice("g-inv-2", "g-small", 4_000_000),
         invoice("g-inv-3", "g-parent", 0)],
    )  # fmt: skip
    assert await wait_until(lambda: _equals(ledger_revenue(api, "g-small"), {"EUR": (4_000_000, 1)}), within=15)
    assert await wait_until(lambda: _equals(ledger_revenue(api, "g-big"), {"EUR": (12_000_000, 1)}), within=15)
    for client_id, ratings in (
        ("g-big", {"profitability": 5, "strategic_value": 5, "relationship_quality": 5}),
        ("g-small", {"profitability": 1, "strategic_value": 1, "relationship_quality": 1}),
    ):
        response = await api.post(
            f"/api/v1/clients/{client_id}/tiering/scores",
            json={"track": "managed_delivery", "ratings": ratings},
            headers=as_user(EXECUTIVE),
        )
        assert response.status_code == 201, response.text

    portfolio = (await api.get("/api/v1/groups/g-parent/portfolio", headers=as_user(MANAGER_S1))).json()
    assert portfolio["combined_revenue_minor"] == 16_000_000  # EUR 160,000 → band 4
    assert portfolio["revenue_band"] == 4
    # revenue-weighted: (120k × 5 + 40k × 1) / 160k = 4.0 for each human dimension
    assert portfolio["human_ratings"] == {"profitability": "4.00", "relationship_quality": "4.00",
                                          "strategic_value": "4.00"}  # fmt: skip
    assert (portfolio["score"], portfolio["tier"]) == ("4.00", "Platinum")  # 0.35×4 + 0.65×4
    # g-big: 0.35×3 + 0.65×5 = 4.30 Platinum; g-small: 0.35×2 + 0.65×1 = 1.35 Review; the parent unscored
    assert portfolio["tier_distribution"] == {"Platinum": 1, "Review": 1, "Unscored": 1}
    not_a_group = await api.get("/api/v1/groups/g-big/portfolio", headers=as_user(EXECUTIVE))
    assert not_a_group.status_code == 404
