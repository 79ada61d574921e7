"""What the reports serve: reach over any window (Meta ``all_days``, TikTok without ``stat_time_day``), TikTok's
complete-payment revenue metrics, and the account discovery of Meta and TikTok."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))
from sandbox_testkit import InProcessSandbox

START, END = date(2026, 4, 1), date(2026, 7, 9)  # 100 days


async def meta_insights(live: InProcessSandbox, token: str, increment: str, start: date, end: date) -> list[Any]:
    params = {
        "level": "campaign",
        "time_increment": increment,
        "time_range": json.dumps({"since": start.isoformat(), "until": end.isoformat()}),
        "limit": "5000",
        "access_token": token,
    }
    answer = await live.http.get("/meta/v25.0/act_1001/insights", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def tiktok_report(live: InProcessSandbox, token: str, dimensions: list[str], start: date, end: date) -> list[Any]:
    params = {
        "advertiser_id": "3003",
        "report_type": "BASIC",
        "data_level": "AUCTION_CAMPAIGN",
        "dimensions": json.dumps(dimensions),
        "metrics": json.dumps(["spend", "reach", "complete_payment", "total_complete_payment_rate"]),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "page_size": "1000",
    }
    answer = await live.http.get(
        "/tiktok/open_api/v1.3/report/integrated/get/", params=params, headers={"Access-Token": token}
    )
    assert answer.json()["code"] == 0, answer.text
    return list(answer.json()["data"]["list"])


def thirty_day_slices(start: date, end: date) -> list[tuple[date, date]]:
    slices, cursor = [], start
    while cursor <= end:
        slices.append((cursor, min(end, cursor + timedelta(days=29))))
        cursor += timedelta(days=30)
    return slices


async def test_meta_reach_over_a_hundred_days_lies_between_the_largest_day_and_the_sum(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    window = await meta_insights(live, token, "all_days", START, END)
    daily = await meta_insights(live, token, "1", START, END)
    assert window
    for row in window:
        assert (row["date_start"], row["date_stop"]) == (START.isoformat(), END.isoformat())
        same = [d for d in daily if d["campaign_id"] == row["campaign_id"]]
        days = [int(d["reach"]) for d in same]
        assert max(days) <= int(row["reach"]) < sum(days)
        assert int(row["impressions"]) == sum(int(d["impressions"]) for d in same)
    assert await meta_insights(live, token, "all_days", START, END) == window


async def test_tiktok_reach_over_a_hundred_days_lies_between_the_largest_day_and_the_sum(
    live: InProcessSandbox,
) -> None:
    token = await live.grant("tiktok_ads")
    window = await tiktok_report(live, token, ["campaign_id"], START, END)
    daily_reach: defaultdict[str, list[int]] = defaultdict(list)
    for start, end in thirty_day_slices(START, END):  # stat_time_day allows 30 days per request
        for row in await tiktok_report(live, token, ["campaign_id", "stat_time_day"], start, end):
            daily_reach[row["dimensions"]["campaign_id"]].append(int(row["metrics"]["reach"]))
    delivered = [row for row in window if row["metrics"]["reach"] != "-"]
    assert delivered
    for row in delivered:
        days = [reach for reach in daily_reach[row["dimensions"]["campaign_id"]] if reach]
        assert len(daily_reach[row["dimensions"]["campaign_id"]]) == (END - START).days + 1
        assert max(days) <= int(row["metrics"]["reach"]) < sum(days)
    assert await tiktok_report(live, token, ["campaign_id"], START, END) == window


async def test_tiktok_refuses_a_daily_report_over_30_days(live: InProcessSandbox) -> None:
    token = await live.grant("tiktok_ads")
    params = {
        "advertiser_id": "3003",
        "dimensions": '["campaign_id", "stat_time_day"]',
        "start_date": "2026-06-01",
        "end_date": "2026-07-01",
    }
    answer = await live.http.get(
        "/tiktok/open_api/v1.3/report/integrated/get/", params=params, headers={"Access-Token": token}
    )
    assert answer.json()["code"] == 40002


def two_places(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), ROUND_HALF_EVEN))


async def test_tiktok_serves_complete_payment_revenue_consistently(live: InProcessSandbox) -> None:
    await live.configure("tiktok_ads", "3003", campaigns=5, pause_every=5)
    token = await live.grant("tiktok_ads")
    start, end = date(2026, 8, 1), date(2026, 8, 30)
    daily = await tiktok_report(live, token, ["campaign_id", "stat_time_day"], start, end)
    paying = [row["metrics"] for row in daily if row["metrics"]["complete_payment"] != "0"]
    not_paying = [row["metrics"] for row in daily if row["metrics"]["complete_payment"] == "0"]
    assert paying
    assert not_paying  # the paused campaign
    for m in paying:
        value, spend = Decimal(m["total_complete_payment_rate"]), Decimal(m["spend"])
        payments = int(m["complete_payment"])
        assert value > 0
        assert m["total_purchase_value"] == m["total_complete_payment_rate"]
        assert m["complete_payment_roas"] == two_places(value / spend)
        assert m["value_per_complete_payment"] == two_places(value / payments)
    for m in not_paying:
        assert m["total_complete_payment_rate"] == m["complete_payment_roas"] == m["value_per_complete_payment"] == "-"

    window = await tiktok_report(live, token, ["campaign_id"], start, end)
    by_campaign: defaultdict[str, Decimal] = defaultdict(Decimal)
    for row in daily:
        if row["metrics"]["complete_payment"] != "0":
            by_campaign[row["dimensions"]["campaign_id"]] += Decimal(row["metrics"]["total_complete_payment_rate"])
    for row in window:
        if row["metrics"]["complete_payment"] != "0":
            total = Decimal(row["metrics"]["total_complete_payment_rate"])
            assert total == by_campaign[row["dimensions"]["campaign_id"]]


async def test_meta_lists_the_ad_accounts_a_person_can_see(live: InProcessSandbox) -> None:
    await live.configure("meta_ads", "5005005", name="Configured Shop", currency="EUR")
    token = await live.grant("meta_ads")
    params = {"fields": "account_id,name,currency,timezone_name", "access_token": token}
    listed = (await live.http.get("/meta/v25.0/me/adaccounts", params=params)).json()
    accounts = {row["account_id"]: row for row in listed["data"]}
    assert {"1001001", "1003003", "5005005"} <= set(accounts)
    assert accounts["5005005"] == {
        "account_id": "5005005",
        "name": "Configured Shop",
        "currency": "EUR",
        "timezone_name": "America/Los_Angeles",
        "id": "act_5005005",
    }
    first_page = (await live.http.get("/meta/v25.0/me/adaccounts", params={**params, "limit": "1"})).json()
    assert len(first_page["data"]) == 1
    second_page = (await live.http.get(first_page["paging"]["next"])).json()
    assert second_page["data"][0]["account_id"] != first_page["data"][0]["account_id"]
    named_only = await live.http.get("/meta/v25.0/me/adaccounts", params={"fields": "name", "access_token": token})
    assert set(named_only.json()["data"][0]) == {"name", "id"}


async def test_tiktok_lists_the_advertisers_the_token_was_authorised_for(live: InProcessSandbox) -> None:
    await live.configure("tiktok_ads", "51001", name="Configured Advertiser")
    token = await live.grant("tiktok_ads")
    path = "/tiktok/open_api/v1.3/oauth2/advertiser/get/"
    listed = await live.http.get(path, params={"app_id": "a", "secret": "s"}, headers={"Access-Token": token})
    assert listed.json()["code"] == 0
    advertisers = listed.json()["data"]["list"]
    assert {"advertiser_id": "51001", "advertiser_name": "Configured Advertiser"} in advertisers
    assert "7001001" in {a["advertiser_id"] for a in advertisers}
    no_secret = await live.http.get(path, params={"app_id": "a"}, headers={"Access-Token": token})
    assert no_secret.json()["code"] == 40002
    assert (await live.http.get(path, params={"app_id": "a", "secret": "s"})).json()["code"] == 40104
