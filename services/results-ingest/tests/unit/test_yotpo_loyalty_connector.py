"""The Yotpo Loyalty connector over loopback against Yotpo's documented answers: the customer list and
each member's history turned into the daily loyalty metrics (values worked out by hand), paging and
the rule that stops asking for histories, time zone and currency from the connection, throttling and
refused keys."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
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
    PlatformConnector,
    PlatformError,
    ReconnectRequired,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.platforms import REGISTRY

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ROOT = "/yotpo/api/v2"
LIST, DETAILS, REWARDS = f"{ROOT}/customers/recent", f"{ROOT}/customers", f"{ROOT}/redemption_options"
GUID = "5f0e3c1a-2b4d-4c6e-8f00-112233445566"
WINDOW = DateRange(date(2025, 5, 31), date(2025, 6, 3))


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())["response"]["body"]


def history(*items: dict[str, Any]) -> Answer:
    return Answer(200, {"email": "x@example.com", "history_items": list(items)})


# Jane (joined 2024-11-02) and Sam (joined 2025-06-02 09:05 UTC), as Yotpo documents the list.
JANE = history(
    {"created_at": "2025-06-01T18:00:00.000Z", "action": "Made a purchase", "points": 120, "status": "Approved",
     "total_amount_cents": 12050},
    # A reward redeemed: its status is the coupon code. 03:30 UTC is still June 1st in Los Angeles.
    {"created_at": "2025-06-02T03:30:00.000Z", "action": "$5 Coupon", "points": -500, "status": "FIVEOFF-A1B2C3"},
    # Recorded in the window, back-dated before it: not counted.
    {"created_at": "2025-06-03T12:00:00.000Z", "completed_at": "2025-05-20T12:00:00.000Z",
     "action": "Complete our Survey", "points": 150, "status": "Approved"},
    {"created_at": "2025-06-03T13:00:00.000Z", "action": "Made a purchase", "points": 40, "status": "Cancelled",
     "total_amount_cents": 4000},
    {"created_at": "2025-06-03T14:00:00.000Z", "action": "Points expired", "points": -75, "status": "Expired"},
)  # fmt: skip
SAM = history(
    {"created_at": "2025-06-02T09:05:33.000Z", "action": "Create an Account", "points": 100, "status": "Approved"},
    {"created_at": "2025-06-02T09:05:40.000Z", "action": "Made a purchase", "points": 64, "status": "Approved",
     "total_amount_cents": 6499},
    # Named after one of the programme's rewards: a redemption whatever its status says.
    {"created_at": "2025-06-03T10:00:00.000Z", "action": "$10.00 Off", "points": -1000, "status": "Approved"},
)  # fmt: skip


def connect(
    platform: ScriptedPlatform,
    http: httpx.AsyncClient,
    *,
    options: dict[str, str] | None = None,
    clock: VirtualClock | None = None,
    page_size: int = 100,
) -> PlatformConnector:
    settings = settings_for(platform.url, platforms={"yotpo_loyalty": {"page_size": page_size}})
    connector, _ = platform_connector(
        "yotpo_loyalty", settings, http, Credentials("api-key-1"), GUID, options=options, clock=clock
    )
    return connector


async def read(connector: PlatformConnector, window: DateRange = WINDOW) -> dict[tuple[str, date], tuple[int, Any]]:
    account = await connector.account_info()
    rows = await connector.metric_days(window, account)
    keyed = {(r.metric_key, r.day): (r.value, r.currency) for r in rows}
    assert len(keyed) == len(rows)
    return keyed


def column(rows: dict[tuple[str, date], tuple[int, Any]], key: str) -> list[int]:
    return [rows[key, WINDOW.start + timedelta(days=i)][0] for i in range(WINDOW.days)]


def script_programme(platform: ScriptedPlatform) -> None:
    platform.script(REWARDS, Answer(200, sample("yotpo__redemption_options")))
    platform.script(LIST, Answer(200, sample("yotpo__customers_recent")))
    platform.script(DETAILS, JANE, SAM)


async def test_the_documented_list_and_histories_become_the_daily_metrics() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        script_programme(yotpo)
        rows = await read(connect(yotpo, http))
        asked = yotpo.requests(DETAILS)
        listed = yotpo.requests(LIST)
    # Days 05-31, 06-01, 06-02, 06-03 (UTC, the default time zone).
    assert column(rows, "loyalty_members") == [1, 1, 2, 2]  # the count at each day's end, not a sum
    assert column(rows, "loyalty_new_members") == [0, 0, 1, 0]
    assert column(rows, "points_earned") == [0, 120, 100 + 64, 0]  # cancelled and back-dated left out
    assert column(rows, "points_redeemed") == [0, 0, 500, 1000]  # the expiry is no redemption
    assert column(rows, "redemptions") == [0, 0, 1, 1]
    assert column(rows, "loyalty_revenue_minor") == [0, 12050, 6499, 0]
    assert {currency for (key, _), (_, currency) in rows.items() if key == "loyalty_revenue_minor"} == {"USD"}
    assert {currency for (key, _), (_, currency) in rows.items() if key != "loyalty_revenue_minor"} == {None}
    assert [s.query["customer_email"] for s in asked] == ["jane.doe@example.com", "sam.lee@example.com"]
    assert all(s.query["with_history"] == "true" for s in asked)
    assert listed[0].query == {"per_page": "100", "page": "1"}
    assert all(s.headers["x-guid"] == GUID and s.headers["x-api-key"] == "api-key-1" for s in yotpo.seen)


async def test_days_are_the_programmes_own_and_amounts_its_currency() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        script_programme(yotpo)
        connector = connect(yotpo, http, options={"currency": "eur", "time_zone": "America/Los_Angeles"})
        account = await connector.account_info()
        rows = await read(connector)
    assert (account.account_id, account.currency, account.time_zone) == (GUID, "EUR", "America/Los_Angeles")
    # The coupon at 03:30 UTC on June 2nd was redeemed on June 1st in Los Angeles; Sam's reward
    # (10:00 UTC June 3rd) stays on June 3rd.
    assert column(rows, "points_redeemed") == [0, 500, 0, 1000]
    assert column(rows, "redemptions") == [0, 1, 0, 1]
    assert column(rows, "points_earned") == [0, 120, 164, 0]
    assert column(rows, "loyalty_members") == [1, 1, 2, 2]
    assert {c for (k, _), (_, c) in rows.items() if k == "loyalty_revenue_minor"} == {"EUR"}


async def test_order_amounts_in_hundredths_become_minor_units_of_a_three_decimal_currency() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        script_programme(yotpo)
        rows = await read(connect(yotpo, http, options={"currency": "KWD"}))
    assert column(rows, "loyalty_revenue_minor") == [0, 120500, 64990, 0]  # 120.50 KWD, 64.99 KWD


async def test_the_documented_history_example_without_order_amounts() -> None:
    window = DateRange(date(2016, 6, 28), date(2016, 8, 28))
    member = {"email": "john@example.com", "opt_in": True, "opted_in_at": "2016-06-28T18:41:13.000Z",
              "last_seen_at": "2016-09-10T18:41:13.000Z"}  # fmt: skip
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(200, sample("yotpo__redemption_options")))
        yotpo.script(LIST, Answer(200, {"customers": [member]}))
        yotpo.script(DETAILS, Answer(200, sample("yotpo__customer_details_with_history")))
        rows = await read(connect(yotpo, http), window)
    first, last = window.start, window.end
    assert rows["points_earned", first][0] == 200 and rows["points_earned", last][0] == 150
    assert rows["points_redeemed", last][0] == 250 and rows["redemptions", last][0] == 1
    assert sum(v for (k, _), (v, _) in rows.items() if k == "redemptions") == 1
    assert rows["loyalty_members", first][0] == 1 and rows["loyalty_new_members", first][0] == 1
    # Earning entries without an amount: the order value is unknown, so it is not reported as 0.
    assert not any(key == "loyalty_revenue_minor" for key, _ in rows)


def customer(email: str, last_seen: str | None, joined: str = "2024-01-05T10:00:00.000Z") -> dict[str, Any]:
    return {"email": email, "opt_in": True, "opted_in_at": joined, "last_seen_at": last_seen}


async def test_pages_follow_the_cursor_and_only_recently_changed_customers_are_looked_up() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(200, []))
        page1 = [customer("a@x.example", "2025-06-02T08:00:00.000Z"), customer("b@x.example", "2025-06-01T00:00:00Z")]
        page2 = [customer("c@x.example", "2025-05-30T23:59:59.000Z"), customer("d@x.example", None)]
        yotpo.script(
            LIST,
            Answer(200, {"customers": page1, "metadata": {"next_page_info": "cursor-2"}}),
            Answer(200, {"customers": page2}),
        )
        yotpo.script(DETAILS, history())
        rows = await read(connect(yotpo, http, page_size=2), DateRange(date(2025, 6, 1), date(2025, 6, 3)))
        listed, asked = yotpo.requests(LIST), yotpo.requests(DETAILS)
    assert [s.query for s in listed] == [{"per_page": "2", "page": "1"}, {"per_page": "2", "page_info": "cursor-2"}]
    # Changed since the window began (June 1st, 00:00): a and b; c changed before, d never.
    assert [s.query["customer_email"] for s in asked] == ["a@x.example", "b@x.example"]
    assert rows["loyalty_members", date(2025, 6, 1)][0] == 4


async def test_without_a_cursor_pages_are_numbered_until_one_comes_back_short() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(200, []))
        yotpo.script(
            LIST,
            Answer(200, {"customers": [customer("a@x.example", None), customer("b@x.example", None)]}),
            Answer(200, {"customers": [customer("c@x.example", None)]}),
        )
        rows = await read(connect(yotpo, http, page_size=2))
        listed = yotpo.requests(LIST)
    assert [s.query.get("page") for s in listed] == ["1", "2"]
    assert column(rows, "loyalty_members") == [3, 3, 3, 3]


@pytest.mark.parametrize(
    "second",
    [
        {"customers": [customer("c@x.example", None)], "metadata": {"next_page_info": "cursor-2"}},  # repeated
        {"customers": [customer("a@x.example", None)], "metadata": {}},  # the same first page again
    ],
)
async def test_a_list_that_does_not_move_on_is_an_error_not_a_loop(second: dict[str, Any]) -> None:
    first = {"customers": [customer("a@x.example", None)], "metadata": {"next_page_info": "cursor-2"}}
    if second["metadata"] == {}:
        first = {"customers": [customer("a@x.example", None)]}
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(200, []))
        yotpo.script(LIST, Answer(200, first), Answer(200, second))
        with pytest.raises(PlatformError, match="Yotpo Loyalty"):
            await read(connect(yotpo, http, page_size=1))


async def test_a_short_throttle_is_waited_out_and_a_long_one_waits_for_later() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(429, {"error": "Too many requests"}, {"Retry-After": "3"}), Answer(200, []))
        clock = VirtualClock()
        await connect(yotpo, http, clock=clock).account_info()
        assert clock.slept == [3.0]
        yotpo.script(REWARDS, Answer(429, {"error": "Too many requests"}, {"Retry-After": "3600"}))
        with pytest.raises(MustWait) as waiting:
            await connect(yotpo, http, clock=clock).account_info()
        assert waiting.value.until == clock.now() + timedelta(seconds=3600)


async def test_a_throttle_without_retry_after_and_server_errors_are_retried_with_backoff() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(
            REWARDS, Answer(429, {"error": "Too many requests"}), Answer(503, {"error": "down"}), Answer(200, [])
        )
        clock = VirtualClock()
        assert (await connect(yotpo, http, clock=clock).account_info()).currency == "USD"
        assert len(clock.slept) == 2 and all(0 < s < 1 for s in clock.slept)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_wrong_guid_or_key_asks_for_a_reconnect(status: int) -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        yotpo.script(REWARDS, Answer(status, {"error": "Invalid GUID or API key"}))
        with pytest.raises(ReconnectRequired, match="Invalid GUID or API key"):
            await connect(yotpo, http).account_info()
        assert len(yotpo.requests(REWARDS)) == 1


async def test_a_customer_gone_since_the_list_was_read_is_skipped_and_other_refusals_fail() -> None:
    async with scripted_platform() as yotpo, httpx.AsyncClient() as http:
        script_programme(yotpo)
        yotpo.answers[DETAILS].clear()
        yotpo.script(DETAILS, Answer(404, {"error": "Customer not found"}), SAM)
        rows = await read(connect(yotpo, http))
        assert column(rows, "points_earned") == [0, 0, 164, 0]
        yotpo.script(DETAILS, Answer(400, {"error": "customer_email is invalid"}))
        with pytest.raises(PlatformError, match="customer_email is invalid"):
            await read(connect(yotpo, http))


def test_connection_options_name_a_real_currency_and_time_zone() -> None:
    spec = REGISTRY.get("yotpo_loyalty")
    assert spec.options_of({"currency": "eur", "time_zone": "Europe/Berlin"}) == {
        "currency": "EUR",
        "time_zone": "Europe/Berlin",
    }
    assert spec.options_of({}) == {"currency": "USD", "time_zone": "UTC"}
    with pytest.raises(ValueError, match="ISO 4217"):
        spec.options_of({"currency": "EURO"})
    with pytest.raises(ValueError, match="IANA"):
        spec.options_of({"time_zone": "Mars/Olympus"})
    with pytest.raises(ValueError, match="login_email"):
        spec.options_of({"login_email": "x@example.com"})
