"""The Recharge connector over loopback against Recharge's documented answers (2021-11): the store,
subscriptions and charges placed on the store's own days, cursor pages, the token's bucket, 429s,
truncated bodies and refused tokens. Expected figures are counted by hand."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import VirtualClock, platform_connector, settings_for
from scripted import Answer, ScriptedPlatform, scripted_platform

from clientpulse.results_ingest.connectors.base import (
    Credentials,
    MustWait,
    PlatformError,
    ReconnectRequired,
    Transient,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.platforms.recharge.connector import interpret
from clientpulse.results_ingest.platforms.recharge.pacing import LeakyBucket

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
STORE, SUBSCRIPTIONS, CHARGES = "/recharge/store", "/recharge/subscriptions", "/recharge/charges"
NEW_YORK = AccountInfo("copperleaf-coffee", "Copperleaf", "USD", "America/New_York")
JUNE = DateRange(date(2025, 6, 1), date(2025, 6, 3))
STORE_BODY = {
    "store": {
        "id": 126593,
        "name": "Copperleaf Coffee",
        "currency": "USD",
        "iana_timezone": "America/New_York",
        "timezone": "(GMT-05:00) America/New_York",
        "my_shopify_domain": "copperleaf-coffee.myshopify.com",
        "domain": "shop.copperleaf.example",
    }
}


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"recharge__{name}.json").read_text()))


def sample_answer(name: str) -> Answer:
    recorded = sample(name)["response"]
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return Answer(recorded["status"], recorded["body"], headers)


def page(resource: str, records: list[dict[str, Any]], cursor: str | None = None) -> Answer:
    return Answer(200, {"next_cursor": cursor, "previous_cursor": None, resource: records})


def subscription(number: int, created: str, status: str = "active", cancelled: str | None = None, **more: Any) -> dict:
    return {"id": number, "created_at": created, "status": status, "cancelled_at": cancelled, **more}


def charge(number: int, status: str, processed: str | None, total: str, **more: Any) -> dict[str, Any]:
    return {
        "id": number,
        "status": status,
        "type": "recurring",
        "processed_at": processed,
        "total_price": total,
        "total_refunds": "0.00",
        "currency": "USD",
        **more,
    }


def connector(url: str, http: httpx.AsyncClient, clock: VirtualClock, account: str = "copperleaf-coffee") -> Any:
    built, _ = platform_connector("recharge", settings_for(url), http, Credentials("rc-token"), account, clock=clock)
    return built


def figures(days: list[MetricDay], key: str) -> dict[date, int]:
    found = {d.day: d.value for d in days if d.metric_key == key}
    assert len(found) == len([d for d in days if d.metric_key == key]), f"a day of {key} came back twice"
    return found


def test_the_platform_declares_the_subscription_metrics_and_a_pasted_token() -> None:
    spec = REGISTRY.get("recharge")
    assert [m.key for m in spec.metrics] == [
        "active_subscriptions",
        "subscriptions_created",
        "subscriptions_cancelled",
        "charges",
        "recurring_revenue_minor",
    ]
    assert spec.auth.kind == "api_key" and not spec.reports_reach
    assert spec.reread_days == 7 and spec.slice_days == 30


@pytest.mark.parametrize("account", ["copperleaf-coffee", "126593", "Copperleaf-Coffee"])
async def test_the_store_names_its_currency_and_time_zone(account: str) -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, Answer(200, STORE_BODY))
        info = await connector(recharge.url, http, VirtualClock(), account).account_info()
        sent = recharge.requests(STORE)[0]
    assert (info.name, info.currency, info.time_zone) == ("Copperleaf Coffee", "USD", "America/New_York")
    assert sent.headers["X-Recharge-Access-Token"] == "rc-token"
    assert sent.headers["X-Recharge-Version"] == "2021-11"


async def test_a_token_of_another_store_is_refused_by_name() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, Answer(200, STORE_BODY))
        with pytest.raises(PlatformError, match=r"Copperleaf Coffee.*126593.*bluebird"):
            await connector(recharge.url, http, VirtualClock(), "bluebird").account_info()


# Subscriptions of a New York store around 1–3 June 2025 (UTC times; New York is UTC−4 in June).
ACTIVE_PAGE_1 = [
    subscription(1, "2025-05-10T12:00:00+00:00"),  # A: active all along
    subscription(2, "2025-06-02T03:30:00+00:00"),  # B: 1 June 23:30 in New York
]
ACTIVE_PAGE_2 = [subscription(3, "2025-06-20T12:00:00+00:00")]  # started after the window
CANCELLED = [
    # C: cancelled 2 June 11:00 New York: active at the end of 1 June, not of 2 June.
    subscription(4, "2024-01-01T12:00:00+00:00", "cancelled", "2025-06-02T15:00:00+00:00"),
    # D: started and cancelled on 3 June: started and cancelled, never active at a day's end.
    subscription(5, "2025-06-03T12:00:00+00:00", "cancelled", "2025-06-03T20:00:00+00:00"),
    # F: cancelled 4 June 02:00 UTC, which is 3 June 22:00 in New York.
    subscription(6, "2025-02-01T12:00:00+00:00", "cancelled", "2025-06-04T02:00:00+00:00"),
]
# E: ran out its charges on 1 June (no cancelled_at): ended, not cancelled.
EXPIRED = [subscription(7, "2025-01-01T12:00:00+00:00", "expired", None, updated_at="2025-06-01T14:00:00+00:00")]


def script_subscriptions(recharge: ScriptedPlatform) -> None:
    recharge.script(
        SUBSCRIPTIONS,
        page("subscriptions", ACTIVE_PAGE_1, cursor="c-active-2"),
        page("subscriptions", ACTIVE_PAGE_2),
        page("subscriptions", CANCELLED),
        page("subscriptions", EXPIRED),
    )


async def test_active_subscriptions_are_counted_at_each_days_end_in_the_store_time_zone() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        script_subscriptions(recharge)
        recharge.script(CHARGES, page("charges", []))
        days = await connector(recharge.url, http, VirtualClock()).metric_days(JUNE, NEW_YORK)
    june = [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]
    # End of 1 June: A, B, C, F (E ended that day). End of 2 June: A, B, F. End of 3 June: A, B.
    assert figures(days, "active_subscriptions") == dict(zip(june, [4, 3, 2], strict=True))
    assert figures(days, "subscriptions_created") == dict(zip(june, [1, 0, 1], strict=True))
    assert figures(days, "subscriptions_cancelled") == dict(zip(june, [0, 1, 2], strict=True))
    assert all(d.currency is None for d in days if d.metric_key != "recurring_revenue_minor")


async def test_cursor_pages_send_only_the_cursor_and_the_limit() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        script_subscriptions(recharge)
        recharge.script(CHARGES, page("charges", []))
        await connector(recharge.url, http, VirtualClock()).metric_days(JUNE, NEW_YORK)
        asked = [s.query for s in recharge.requests(SUBSCRIPTIONS)]
        charges_asked = recharge.requests(CHARGES)[0].query
    # Active ones created by the window's end (a day of margin: 4 June 03:59:59 UTC + 1 day).
    assert asked[0] == {"status": "active", "created_at_max": "2025-06-05T03:59:59", "limit": "250"}
    assert asked[1] == {"cursor": "c-active-2", "limit": "250"}
    # Ended ones updated since the window's start (1 June 00:00 New York, less a day, in UTC).
    assert asked[2] == {"status": "cancelled", "updated_at_min": "2025-05-31T04:00:00", "limit": "250"}
    assert asked[3] == {"status": "expired", "updated_at_min": "2025-05-31T04:00:00", "limit": "250"}
    assert charges_asked == {
        "processed_at_min": "2025-05-31T04:00:00",
        "processed_at_max": "2025-06-05T03:59:59",
        "limit": "250",
    }


async def test_only_renewals_that_brought_money_in_are_counted() -> None:
    documented = sample("charges_page")["response"]["body"]["charges"]  # success, error, queued
    more = [
        charge(11, "refunded", "2025-06-01T15:00:00+00:00", "30.00", total_refunds="30.00"),
        charge(12, "partially_refunded", "2025-06-02T15:00:00+00:00", "30.00", total_refunds="10.00"),
        charge(13, "success", "2025-06-02T15:00:00+00:00", "26.90", type="checkout"),  # the first purchase
        charge(14, "success", "2025-06-02T15:00:00+00:00", "25.00", currency="EUR"),  # not the store's currency
        charge(15, "skipped", None, "30.00"),
        charge(16, "success", "2025-06-04T02:30:00+00:00", "19.99"),  # 3 June 22:30 in New York
        charge(17, "success", "2025-05-31T12:00:00+00:00", "99.00"),  # before the window
    ]
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(SUBSCRIPTIONS, page("subscriptions", []))
        recharge.script(CHARGES, page("charges", documented[:2], cursor="c-2"), page("charges", documented[2:] + more))
        days = await connector(recharge.url, http, VirtualClock()).metric_days(JUNE, NEW_YORK)
    june = [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]
    # 1 June: the documented success (48.45, processed 02:03 New York). 2 June: 30.00 − 10.00 refunded.
    assert figures(days, "charges") == dict(zip(june, [1, 1, 1], strict=True))
    assert figures(days, "recurring_revenue_minor") == dict(zip(june, [4845, 2000, 1999], strict=True))
    assert {d.currency for d in days if d.metric_key == "recurring_revenue_minor"} == {"USD"}
    assert figures(days, "active_subscriptions") == dict.fromkeys(june, 0)  # zeros are given, not left out


async def test_money_is_in_minor_units_of_the_store_currency() -> None:
    yen = AccountInfo("tokyo-tea", "Tokyo Tea", "JPY", "Asia/Tokyo")
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(SUBSCRIPTIONS, page("subscriptions", []))
        # 31 May 16:00 UTC is 1 June 01:00 in Tokyo.
        recharge.script(
            CHARGES, page("charges", [charge(1, "success", "2025-05-31T16:00:00+00:00", "4800", currency="JPY")])
        )
        days = await connector(recharge.url, http, VirtualClock(), "tokyo-tea").metric_days(JUNE, yen)
    assert figures(days, "recurring_revenue_minor")[date(2025, 6, 1)] == 4800
    assert {d.currency for d in days if d.metric_key == "recurring_revenue_minor"} == {"JPY"}


async def test_the_documented_429_is_waited_out_for_two_seconds_and_retried() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, sample_answer("rate_limited_429"), Answer(200, STORE_BODY))
        clock = VirtualClock()
        info = await connector(recharge.url, http, clock).account_info()
    assert info.currency == "USD"
    assert 2.0 in clock.slept and len(recharge.requests(STORE)) == 2


async def test_a_named_short_wait_is_honoured_and_a_long_one_leaves_as_must_wait() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, Answer(429, {"warning": "too many requests"}, {"Retry-After": "5"}))
        recharge.script(STORE, Answer(200, STORE_BODY))
        clock = VirtualClock()
        await connector(recharge.url, http, clock).account_info()
        assert 5.0 in clock.slept
        recharge.script(STORE, Answer(429, {"warning": "too many requests"}, {"Retry-After": "600"}))
        with pytest.raises(MustWait) as waiting:
            await connector(recharge.url, http, clock).account_info()
    assert (waiting.value.until - clock.now()).total_seconds() == 600


async def test_a_nearly_full_bucket_slows_the_next_request_down() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        first = Answer(200, {"next_cursor": "c-2", "subscriptions": []}, {"X-Recharge-Limit": "38/40"})
        recharge.script(SUBSCRIPTIONS, first, page("subscriptions", []))
        clock = VirtualClock()
        await connector(recharge.url, http, clock).list_all("subscriptions", {"status": "active"})
    # 38 used of 40, 4 kept free for other programs: wait until 3 leaked out at 2 a second.
    assert clock.slept == [1.5]


def test_the_bucket_leaks_while_time_passes() -> None:
    clock = VirtualClock()
    bucket = LeakyBucket(clock, size=40, leak_per_second=2.0)
    bucket.observe("40/40")
    assert bucket.wait_before_request() == 2.5
    clock.advance(2.5)
    assert bucket.wait_before_request() == 0.0


async def test_a_body_that_is_not_a_json_object_is_retried() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, Answer(200, '{"store": {"id": 1265'), Answer(200, STORE_BODY))
        clock = VirtualClock()
        assert (await connector(recharge.url, http, clock).account_info()).name == "Copperleaf Coffee"
    assert len(clock.slept) == 1


def test_a_body_shorter_than_its_content_length_is_transient() -> None:
    request = httpx.Request("GET", "https://api.rechargeapps.com/charges")
    cut = httpx.Response(200, headers={"Content-Length": "4096"}, content=b'{"charges": []}', request=request)
    with pytest.raises(Transient, match="15 of 4096 bytes"):
        interpret(cut)
    whole = httpx.Response(200, content=b'{"charges": []}', request=request)
    assert interpret(whole) == {"charges": []}


@pytest.mark.parametrize(
    ("status", "errors", "shown"),
    [
        (401, "Invalid API token.", "Invalid API token."),
        (403, {"scopes": ["read_charges is required"]}, "scopes: read_charges is required"),
    ],
)
async def test_a_refused_token_asks_for_a_new_one_in_recharges_words(status: int, errors: Any, shown: str) -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(STORE, Answer(status, {"errors": errors}))
        with pytest.raises(ReconnectRequired, match=f"\\({status}\\): {shown}"):
            await connector(recharge.url, http, VirtualClock()).account_info()
        assert len(recharge.requests(STORE)) == 1  # a refused token is not retried


async def test_a_refused_query_is_an_error_that_says_why() -> None:
    async with scripted_platform() as recharge, httpx.AsyncClient() as http:
        recharge.script(SUBSCRIPTIONS, Answer(422, {"errors": {"limit": "must be at most 250"}}))
        with pytest.raises(PlatformError, match="422: limit: must be at most 250"):
            await connector(recharge.url, http, VirtualClock()).list_all("subscriptions", {})
