"""Google Ads as an agency sees it: a manager account and its clients (reached through
``login-customer-id``), the accounts a token reaches, and campaign reach (``metrics.unique_users``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))
from sandbox_testkit import InProcessSandbox

MANAGER, CLIENTS = "9000000001", ("2002002002", "2002002003")
HIERARCHY = (
    "SELECT customer_client.id, customer_client.descriptive_name, customer_client.manager, customer_client.level, "
    "customer_client.currency_code, customer_client.time_zone, customer_client.status FROM customer_client "
    "WHERE customer_client.level <= 1"
)
DAILY = (
    "SELECT campaign.id, campaign.name, campaign.status, segments.date, metrics.cost_micros, metrics.impressions "
    "FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
REACH = (
    "SELECT campaign.id, campaign.advertising_channel_type, metrics.unique_users, metrics.impressions "
    "FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
DAILY_REACH = (
    "SELECT campaign.id, segments.date, metrics.unique_users FROM campaign "
    "WHERE segments.date BETWEEN '{start}' AND '{end}'"
)


async def search(
    live: InProcessSandbox, customer: str, query: str, *, login: str | None = None, stream: bool = False
) -> httpx.Response:
    token = await live.grant("google_ads")
    headers = {"Authorization": f"Bearer {token}", "developer-token": "dev"}
    if login:
        headers["login-customer-id"] = login
    method = "searchStream" if stream else "search"
    return await live.http.post(
        f"/google-ads/v21/customers/{customer}/googleAds:{method}", json={"query": query}, headers=headers
    )


def failure(response: httpx.Response) -> dict[str, Any]:
    details = response.json()["error"]["details"]
    return dict(details[0]["errors"][0])


async def test_the_token_reaches_the_manager_directly(live: InProcessSandbox) -> None:
    await live.configure("google_ads", "2002", campaigns=2)
    token = await live.grant("google_ads")
    listed = await live.http.get(
        "/google-ads/v21/customers:listAccessibleCustomers",
        headers={"Authorization": f"Bearer {token}", "developer-token": "dev"},
    )
    assert listed.status_code == 200
    names = listed.json()["resourceNames"]
    assert names[0] == f"customers/{MANAGER}"
    assert "customers/2002" in names
    assert not {f"customers/{client}" for client in CLIENTS} & set(names)  # reached only through the manager


async def test_the_manager_lists_itself_and_its_clients(live: InProcessSandbox) -> None:
    answer = await search(live, MANAGER, HIERARCHY, login=MANAGER)
    assert answer.status_code == 200
    rows = [row["customerClient"] for row in answer.json()["results"]]
    assert [(r["id"], r["level"], r["manager"]) for r in rows] == [
        (MANAGER, "0", True),
        (CLIENTS[0], "1", False),
        (CLIENTS[1], "1", False),
    ]
    assert rows[0]["descriptiveName"] == "Sandbox Agency MCC"
    client = rows[1]
    assert client["resourceName"] == f"customers/{MANAGER}/customerClients/{CLIENTS[0]}"
    assert client["status"] == "ENABLED"
    assert {"descriptiveName", "currencyCode", "timeZone"} <= set(client)
    only_manager = await search(live, MANAGER, HIERARCHY.replace("<= 1", "= 0"), login=MANAGER)
    assert [row["customerClient"]["id"] for row in only_manager.json()["results"]] == [MANAGER]


async def test_a_managed_client_needs_the_manager_as_login_customer(live: InProcessSandbox) -> None:
    query = DAILY.format(start="2026-08-01", end="2026-08-02")
    for headers in ({}, {"login": CLIENTS[1]}):
        refused = await search(live, CLIENTS[0], query, **headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["status"] == "PERMISSION_DENIED"
        assert failure(refused)["errorCode"] == {"authorizationError": "USER_PERMISSION_DENIED"}
        assert "login-customer-id" in failure(refused)["message"]
    streamed = await search(live, CLIENTS[0], query, stream=True)
    assert streamed.status_code == 403
    assert isinstance(streamed.json(), list)  # searchStream wraps its error in an array

    answered = await search(live, CLIENTS[0], query, login="900-000-0001")
    assert answered.status_code == 200
    assert answered.json()["results"]
    assert (await search(live, "2002", query)).status_code == 200  # other accounts: reachable directly


async def test_metrics_cannot_be_asked_of_the_manager(live: InProcessSandbox) -> None:
    refused = await search(live, MANAGER, DAILY.format(start="2026-08-01", end="2026-08-02"), login=MANAGER)
    assert refused.status_code == 400
    assert failure(refused)["errorCode"] == {"queryError": "REQUESTED_METRICS_FOR_MANAGER"}


async def test_reach_over_a_range_is_one_row_per_campaign_for_display_and_video(live: InProcessSandbox) -> None:
    await live.configure("google_ads", "2002", campaigns=6, pause_every=0)
    window = {"start": "2026-07-01", "end": "2026-07-30"}
    rows = (await search(live, "2002", REACH.format(**window))).json()["results"]
    daily = (await search(live, "2002", DAILY_REACH.format(**window))).json()["results"]

    assert len(rows) == 6
    assert "segments" not in rows[0]
    channels = {row["campaign"]["advertisingChannelType"] for row in rows}
    assert channels == {"SEARCH", "DISPLAY", "VIDEO"}
    for row in rows:
        users = row["metrics"]["uniqueUsers"]
        assert isinstance(users, str)  # int64 travels as a string
        if row["campaign"]["advertisingChannelType"] == "SEARCH":
            assert users == "0"
            continue
        days = [int(d["metrics"]["uniqueUsers"]) for d in daily if d["campaign"]["id"] == row["campaign"]["id"]]
        assert len(days) == 30
        assert max(days) <= int(users) < sum(days)  # the same people come back on several days
    assert (await search(live, "2002", REACH.format(**window))).json()["results"] == rows  # deterministic


async def test_unique_users_are_refused_beyond_92_days(live: InProcessSandbox) -> None:
    allowed = await search(live, "2002", REACH.format(start="2026-05-01", end="2026-07-31"))  # 92 days
    assert allowed.status_code == 200
    refused = await search(live, "2002", REACH.format(start="2026-05-01", end="2026-08-01"))  # 93 days
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert failure(refused)["errorCode"] == {"queryError": "DATE_RANGE_TOO_WIDE"}
    wide_without_reach = "SELECT campaign.id, metrics.impressions FROM campaign WHERE segments.date BETWEEN "
    assert (await search(live, "2002", wide_without_reach + "'2026-01-01' AND '2026-08-01'")).status_code == 200
