"""The Gorgias connector over loopback HTTP against Gorgias's documented answers: support metrics per
account-local day computed by hand, cursor pages, the call-limit header, 429 waits, and key refusals."""

from __future__ import annotations

import base64
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import VirtualClock, platform_connector, settings_for
from scripted import Answer, ScriptedPlatform, scripted_platform

from clientpulse.results_ingest.connectors.base import Credentials, MustWait, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.platforms.gorgias.support_days import Message, first_response_seconds, parse_instant

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
API = "/gorgias/acme/api"
EMAIL = "ops@acme.example"
NEW_YORK = AccountInfo("acme", "acme", "USD", "America/New_York")
MARCH = DateRange(date(2026, 3, 1), date(2026, 3, 2))


def sample_answer(name: str) -> Answer:
    recorded = json.loads((SAMPLES / f"{name}.json").read_text())["response"]
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return Answer(recorded["status"], recorded["body"], headers)


def page(items: list[dict[str, Any]], next_cursor: str | None = None, used: int = 3) -> Answer:
    body = {"data": items, "object": "list", "meta": {"prev_cursor": None, "next_cursor": next_cursor}}
    return Answer(200, body, {"X-Gorgias-Account-Api-Call-Limit": f"{used}/40"})


def ticket(
    ticket_id: int, created: str, updated: str, *, closed: str | None = None, status: str = "open", spam: bool = False
) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "status": status,
        "channel": "email",
        "spam": spam,
        "created_datetime": created,
        "updated_datetime": updated,
        "closed_datetime": closed,
        "trashed_datetime": None,
    }


def message(message_id: int, ticket_id: int, at: str, *, agent: bool, note: bool = False) -> dict[str, Any]:
    return {
        "id": message_id,
        "ticket_id": ticket_id,
        "created_datetime": at,
        "from_agent": agent,
        "public": not note,
        "channel": "internal-note" if note else "email",
    }


def survey(survey_id: int, created: str, scored: str | None, score: int | None) -> dict[str, Any]:
    return {"id": survey_id, "created_datetime": created, "scored_datetime": scored, "score": score}


def connector_for(
    gorgias: ScriptedPlatform, http: httpx.AsyncClient, clock: VirtualClock | None = None, max_wait: float = 30.0
) -> Any:
    connector, _ = platform_connector(
        "gorgias",
        settings_for(gorgias.url),
        http,
        Credentials("key-123"),
        "acme",
        options={"email": EMAIL},
        clock=clock,
        max_wait=max_wait,
    )
    return connector


def by_day(days: list[MetricDay]) -> dict[date, dict[str, int]]:
    out: dict[date, dict[str, int]] = {}
    for d in days:
        assert d.metric_key not in out.setdefault(d.day, {}), "a metric came back twice for a day"
        assert d.currency is None and d.breakdown is None
        out[d.day][d.metric_key] = d.value
    return out


def script_march(gorgias: ScriptedPlatform) -> None:
    """New York is UTC-5 in March: the window starts at 2026-03-01T05:00Z."""
    gorgias.script(
        f"{API}/tickets",
        page(
            [
                # Created 22:30 on 1 March in New York (already 2 March in UTC), closed two hours later.
                ticket(
                    1,
                    "2026-03-02T03:30:00+00:00",
                    "2026-03-02T05:30:00+00:00",
                    closed="2026-03-02T05:30:00+00:00",
                    status="closed",
                ),
                # Created in February, closed at noon on 1 March: counted on the day it closed.
                ticket(2, "2026-02-10T12:00:00", "2026-03-01T17:00:00", closed="2026-03-01T17:00:00", status="closed"),
            ],
            next_cursor="page-2",
        ),
        page(
            [
                ticket(3, "2026-03-01T14:00:00+00:00", "2026-03-01T14:10:30+00:00"),
                ticket(4, "2026-03-01T15:00:00+00:00", "2026-03-01T15:00:00+00:00", spam=True),
                # Reopened: Gorgias still shows when it was closed, but it is open.
                ticket(5, "2026-03-01T12:00:00+00:00", "2026-03-01T13:00:00+00:00", closed="2026-03-01T12:30:00"),
                # Last updated before the window: the scan stops with this page.
                ticket(6, "2026-01-01T10:00:00+00:00", "2026-02-20T10:00:00+00:00"),
            ],
            next_cursor="page-3",
        ),
    )
    gorgias.script(
        f"{API}/messages",
        page(
            [
                message(15, 1, "2026-03-02T04:00:00+00:00", agent=True),
                message(12, 1, "2026-03-02T03:40:00+00:00", agent=True, note=True),
                message(11, 1, "2026-03-02T03:30:00+00:00", agent=False),
                message(21, 2, "2026-03-01T16:00:00+00:00", agent=True),  # its ticket began in February
                message(32, 3, "2026-03-01T14:10:30+00:00", agent=True),
                message(31, 3, "2026-03-01T14:00:00+00:00", agent=False),
                message(51, 5, "2026-03-01T12:00:00+00:00", agent=False),
                message(61, 6, "2026-02-20T10:00:00+00:00", agent=True),
            ]
        ),
    )
    gorgias.script(
        f"{API}/satisfaction-surveys",
        page(
            [
                survey(904, "2026-03-02T08:00:00", "2026-03-03T06:00:00", 3),  # 1 a.m. on 3 March: after the window
                survey(903, "2026-03-02T07:00:00", None, None),  # sent, not answered
                survey(902, "2026-03-01T20:00:00", "2026-03-02T15:00:00", 5),
                survey(901, "2026-02-25T10:00:00", "2026-03-02T04:00:00", 4),  # 11 p.m. on 1 March in New York
            ]
        ),
    )


async def test_support_days_are_counted_by_hand_in_the_account_time_zone() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        script_march(gorgias)
        days = by_day(await connector_for(gorgias, http).metric_days(MARCH, NEW_YORK))
    assert days == {
        date(2026, 3, 1): {
            "tickets_created": 3,  # tickets 1, 3 and 5 (4 is spam)
            "tickets_closed": 1,  # ticket 2, created long before the window
            "resolution_seconds_total": 19 * 86_400 + 5 * 3600,
            "resolutions": 1,
            "first_response_seconds_total": 1800 + 630,  # ticket 1 (the internal note is no reply), ticket 3
            "first_responses": 2,
            "csat_score_total": 4,
            "csat_responses": 1,
        },
        date(2026, 3, 2): {
            "tickets_created": 0,
            "tickets_closed": 1,
            "resolution_seconds_total": 7200,
            "resolutions": 1,
            "first_response_seconds_total": 0,
            "first_responses": 0,
            "csat_score_total": 5,
            "csat_responses": 1,
        },
    }


async def test_lists_are_read_newest_first_in_pages_of_100_until_they_reach_back_past_the_window() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        script_march(gorgias)
        await connector_for(gorgias, http).metric_days(MARCH, NEW_YORK)
    asked = gorgias.requests(f"{API}/tickets")
    assert len(asked) == 2  # page 2 reaches back before 2026-03-01T05:00Z: page 3 is never asked for
    assert asked[0].query == {"order_by": "updated_datetime:desc", "limit": "100"}
    assert asked[1].query == {"order_by": "updated_datetime:desc", "limit": "100", "cursor": "page-2"}
    assert gorgias.requests(f"{API}/messages")[0].query["order_by"] == "created_datetime:desc"
    assert gorgias.requests(f"{API}/satisfaction-surveys")[0].query["order_by"] == "created_datetime:desc"
    login = base64.b64decode(asked[0].headers["Authorization"].removeprefix("Basic ")).decode()
    assert login == f"{EMAIL}:key-123"


async def test_the_documented_ticket_list_parses_into_the_days_it_names() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/tickets", sample_answer("gorgias__tickets_list"), page([]))
        gorgias.script(f"{API}/messages", page([]))
        gorgias.script(f"{API}/satisfaction-surveys", page([]))
        utc = AccountInfo("acme", "acme", "USD", "UTC")
        days = by_day(
            await connector_for(gorgias, http).metric_days(DateRange(date(2025, 6, 1), date(2025, 6, 2)), utc)
        )
    # Ticket 184720551: created 14:12:03.112, closed 15:02:11.410 on 1 June; 184733902 is still open.
    assert days[date(2025, 6, 1)]["tickets_closed"] == 1
    assert days[date(2025, 6, 1)]["resolution_seconds_total"] == 50 * 60 + 8
    assert [days[d]["tickets_created"] for d in sorted(days)] == [1, 1]
    # The sample's next cursor was followed once.
    cursor = sample_answer("gorgias__tickets_list").body["meta"]["next_cursor"]
    assert gorgias.requests(f"{API}/tickets")[1].query["cursor"] == cursor


async def test_a_window_with_no_tickets_created_reads_no_messages_and_still_gives_every_day() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/tickets", page([ticket(6, "2026-01-01T10:00:00", "2026-02-20T10:00:00")]))
        gorgias.script(f"{API}/satisfaction-surveys", page([]))
        days = await connector_for(gorgias, http).metric_days(MARCH, NEW_YORK)
    assert len(days) == 2 * 8 and {d.value for d in days} == {0}
    assert gorgias.requests(f"{API}/messages") == []


async def test_the_account_time_zone_is_the_business_hours_one() -> None:
    account = {
        "domain": "acme",
        "settings": [
            {"id": 1, "type": "satisfaction-surveys", "data": {}},
            {"id": 987, "type": "business-hours", "data": {"timezone": "Europe/Paris", "business_hours": {}}},
        ],
        "status": {"status": "active"},
    }
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/account", Answer(200, account), Answer(200, {"domain": "acme", "settings": []}))
        connector = connector_for(gorgias, http)
        first, second = await connector.account_info(), await connector.account_info()
    assert (first.name, first.currency, first.time_zone) == ("acme", "USD", "Europe/Paris")
    assert second.time_zone == "UTC"  # no business hours set: Gorgias's default


async def test_the_documented_429_is_waited_out_as_retry_after_says() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/account", sample_answer("gorgias__rate_limited_429"), Answer(200, {"domain": "acme"}))
        clock = VirtualClock()
        assert (await connector_for(gorgias, http, clock).account_info()).name == "acme"
    assert clock.slept == [5.0]
    assert len(gorgias.requests(f"{API}/account")) == 2


async def test_a_long_retry_after_leaves_as_must_wait() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/account", Answer(429, None, {"Retry-after": "120"}))
        clock = VirtualClock()
        with pytest.raises(MustWait) as waiting:
            await connector_for(gorgias, http, clock, max_wait=30.0).account_info()
    assert waiting.value.until == clock.now() + timedelta(seconds=120)
    assert len(gorgias.requests(f"{API}/account")) == 1


async def test_a_nearly_full_bucket_slows_the_next_call_down_before_gorgias_refuses() -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(
            f"{API}/tickets",
            page([ticket(1, "2026-03-01T14:00:00", "2026-03-01T14:00:00")], next_cursor="p2", used=39),
            page([ticket(6, "2026-01-01T10:00:00", "2026-02-20T10:00:00")], used=12),
        )
        gorgias.script(f"{API}/messages", page([], used=13))
        gorgias.script(f"{API}/satisfaction-surveys", page([], used=14))
        clock = VirtualClock()
        await connector_for(gorgias, http, clock).metric_days(MARCH, NEW_YORK)
    # 39 of 40 used: three calls past the reserve of four, at 0.5 s each (40 calls leak in 20 s).
    assert clock.slept == [1.5]


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, ReconnectRequired, "login email or API key"),
        (403, PlatformError, "/gorgias/acme/api/account (403)"),
        (404, PlatformError, "subdomain"),
    ],
)
async def test_refusals_say_what_to_fix(status: int, error: type[Exception], words: str) -> None:
    async with scripted_platform() as gorgias, httpx.AsyncClient() as http:
        gorgias.script(f"{API}/account", Answer(status, {"error": {"msg": "nope"}}))
        with pytest.raises(error, match=re.escape(words)):
            await connector_for(gorgias, http).account_info()
    assert len(gorgias.requests(f"{API}/account")) == 1


def test_a_connection_needs_the_login_email() -> None:
    spec = REGISTRY.get("gorgias")
    assert spec.options_of({"email": EMAIL}) == {"email": EMAIL}
    with pytest.raises(ValueError, match="email"):
        spec.options_of({})
    with pytest.raises(ValueError, match="email"):
        spec.options_of({"email": "not an email"})


@pytest.mark.parametrize(
    ("conversation", "seconds"),
    [
        ([("c", "10:00:00"), ("a", "10:05:00")], 300),
        ([("a", "09:00:00"), ("c", "10:00:00"), ("a", "10:00:42")], 42),  # the company wrote first
        ([("a", "09:00:00")], None),  # the customer never wrote
        ([("c", "10:00:00"), ("note", "10:01:00")], None),  # only an internal note so far
        ([("c", "10:00:00"), ("c", "10:30:00"), ("a", "11:00:00")], 3600),  # from the first question
    ],
)
def test_first_response_is_the_first_public_agent_message_after_the_customers_first(
    conversation: list[tuple[str, str]], seconds: int | None
) -> None:
    messages = []
    for index, (who, at) in enumerate(conversation):
        moment = parse_instant(f"2026-03-01T{at}")
        assert moment is not None
        messages.append(Message(index, 1, moment, who != "c", who != "note"))
    assert first_response_seconds(messages) == seconds
