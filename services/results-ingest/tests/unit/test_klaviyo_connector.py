"""The Klaviyo connector over loopback HTTP against Klaviyo's documented answers: reports read into the
email metrics (counts only, never rates), campaigns on their send day in the account's time zone,
flows per day, the parts adding up to the account, the conversion metric found or given, throttling
and key refusals."""

from __future__ import annotations

import copy
import json
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import VirtualClock, platform_connector, settings_for
from scripted import Answer, ScriptedPlatform, scripted_platform

from clientpulse.results_ingest.connectors.base import Credentials, MustWait, PlatformError, ReconnectRequired
from clientpulse.results_ingest.domain.catalogue import EMAIL_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms import REGISTRY

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ACCOUNTS = "/klaviyo/api/accounts/"
METRICS = "/klaviyo/api/metrics/"
CAMPAIGNS = "/klaviyo/api/campaigns/"
CAMPAIGN_VALUES = "/klaviyo/api/campaign-values-reports/"
FLOW_SERIES = "/klaviyo/api/flow-series-reports/"
EMAIL_CAMPAIGN = "01JT8Q2W7N5K3XGZ4M1B6VRC9D"
SMS_CAMPAIGN = "01JTC5M9H2R8V0P6QK3Y7ZNW4E"
JUNE = DateRange(date(2025, 6, 1), date(2025, 6, 3))
NEW_YORK = AccountInfo("XyZ123", "Linen & Co", "USD", "America/New_York")
KEYS = [m.key for m in EMAIL_METRICS]


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"klaviyo__{name}.json").read_text())["response"])


def sample_answer(name: str, body: Any = None) -> Answer:
    recorded = sample(name)
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return Answer(recorded["status"], recorded["body"] if body is None else body, headers)


def campaign_values_body() -> dict[str, Any]:
    """The documented campaign values answer, with the unique unsubscribes the connector asks for."""
    body = copy.deepcopy(sample("campaign_values_report")["body"])
    for result in body["data"]["attributes"]["results"]:
        result["statistics"]["unsubscribe_uniques"] = result["statistics"]["unsubscribes"] - 1
    return body


def campaigns_page(*campaigns: tuple[str, str, str], next_url: str | None = None) -> dict[str, Any]:
    data = [
        {"type": "campaign", "id": cid, "attributes": {"name": name, "send_time": sent}}
        for cid, name, sent in campaigns
    ]
    return {"data": data, "links": {"self": "x", "next": next_url, "prev": None}}


def account_body(account_id: str = "XyZ123", time_zone: str = "America/New_York", currency: str = "USD") -> dict:
    attributes = {
        "contact_information": {"organization_name": "Linen & Co", "default_sender_email": "hi@linen.example"},
        "timezone": time_zone,
        "preferred_currency": currency,
        "public_api_key": account_id,
    }
    return {"data": [{"type": "account", "id": account_id, "attributes": attributes}], "links": {"next": None}}


def empty_flows() -> dict[str, Any]:
    return {"data": {"type": "flow-series-report", "attributes": {"results": [], "date_times": []}}, "links": {}}


def script_documented(platform: ScriptedPlatform, send_time: str = "2025-06-02T03:30:00+00:00") -> None:
    """Klaviyo's documented answers for June 1-3, the email campaign sent at ``send_time`` (UTC)."""
    platform.script(METRICS, sample_answer("metrics_list"))
    platform.script(CAMPAIGN_VALUES, Answer(200, campaign_values_body()))
    platform.script(FLOW_SERIES, sample_answer("flow_series_report"))
    platform.script(CAMPAIGNS, Answer(200, campaigns_page((EMAIL_CAMPAIGN, "June Launch", send_time))))


def connector_for(platform: ScriptedPlatform, http: httpx.AsyncClient, **kwargs: Any) -> Any:
    options = kwargs.pop("options", None)
    connector, _ = platform_connector(
        "klaviyo", settings_for(platform.url), http, Credentials("pk_test"), "XyZ123", options=options, **kwargs
    )
    return connector


def account_rows(days: list[MetricDay]) -> dict[tuple[date, str], int]:
    keyed = {(d.day, d.metric_key): d.value for d in days if d.breakdown is None}
    assert len(keyed) == len([d for d in days if d.breakdown is None]), "an account day came back twice"
    return keyed


def part_sums(days: list[MetricDay]) -> dict[tuple[date, str], int]:
    sums: dict[tuple[date, str], int] = defaultdict(int)
    for d in days:
        if d.breakdown is not None:
            sums[(d.day, d.metric_key)] += d.value
    return sums


# --- the documented reports, read into the catalogue --------------------------------------------------


async def test_the_documented_reports_become_the_email_metrics_of_each_day() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    account = account_rows(days)
    # June 1: the email campaign (sent 23:30 New York time) and both messages of flow XVTP5Q.
    # The SMS campaign of the same report is not email and is left out.
    assert [account[(date(2025, 6, 1), k)] for k in KEYS] == [
        18342 + 412 + 205,  # recipients
        18107,  # delivered (the flow sample does not carry it)
        7981 + 231 + 97,  # unique opens
        512 + 38 + 12,  # unique clicks
        149 + 11 + 3,  # conversions (every order, not conversion_uniques)
        1187342 + 84250 + 21990,  # revenue: 11873.42 + 842.50 + 219.90 USD in cents
        36,  # unique unsubscribes
    ]
    assert [account[(date(2025, 6, 2), k)] for k in KEYS] == [398 + 188, 0, 219 + 98, 29 + 9, 7 + 2, 67600, 0]
    assert [account[(date(2025, 6, 3), k)] for k in KEYS] == [441 + 212, 0, 250 + 65, 44 + 6, 13 + 1, 108484, 0]
    assert {d.currency for d in days if d.metric_key == "email_revenue_minor"} == {"USD"}
    assert {d.currency for d in days if d.metric_key != "email_revenue_minor"} == {None}


async def test_the_parts_add_up_to_the_account_every_day() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    account = account_rows(days)
    assert set(account) == {(JUNE.start + timedelta(days=i), k) for i in range(3) for k in KEYS}
    parts = part_sums(days)
    assert all(account[key] == parts.get(key, 0) for key in account)
    campaigns = {(d.day, d.breakdown) for d in days if d.breakdown and d.breakdown.dimension == "email_campaign"}
    assert [(day, b.member, b.label) for day, b in campaigns] == [(date(2025, 6, 1), EMAIL_CAMPAIGN, "June Launch")]
    flows = sorted({(d.day, d.breakdown.member) for d in days if d.breakdown and d.breakdown.dimension == "email_flow"})
    assert flows == [(JUNE.start + timedelta(days=i), "XVTP5Q") for i in range(3)]


async def test_rates_are_never_asked_for_nor_stored() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert {d.metric_key for d in days} == set(KEYS)
    for path in (CAMPAIGN_VALUES, FLOW_SERIES):
        asked = json.loads(klaviyo.requests(path)[0].body)["data"]["attributes"]["statistics"]
        assert not [s for s in asked if "rate" in s or s in ("revenue_per_recipient", "average_order_value")]
    # The sample's open_rate (0.44077) and revenue_per_recipient (0.655734) appear nowhere.
    assert not [d for d in days if 0 < d.value < 1]


async def test_the_reports_are_asked_as_klaviyo_documents_them() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    [values] = klaviyo.requests(CAMPAIGN_VALUES)
    [series] = klaviyo.requests(FLOW_SERIES)
    assert values.headers["Authorization"] == "Klaviyo-API-Key pk_test"
    assert values.headers["revision"] == REGISTRY.get("klaviyo").settings_model().revision  # type: ignore[attr-defined]
    asked = json.loads(values.body)["data"]
    assert asked["type"] == "campaign-values-report"
    assert asked["attributes"]["timeframe"] == {
        "start": "2025-06-01T00:00:00+00:00",
        "end": "2025-06-03T23:59:59+00:00",
    }
    assert asked["attributes"]["conversion_metric_id"] == "Y6Hmxn"
    assert asked["attributes"]["filter"] == 'equals(send_channel,"email")'
    flow = json.loads(series.body)["data"]
    assert (flow["type"], flow["attributes"]["interval"]) == ("flow-series-report", "daily")
    [lookup] = klaviyo.requests(CAMPAIGNS)
    assert lookup.query["filter"] == f"and(equals(messages.channel,'email'),any(id,[\"{EMAIL_CAMPAIGN}\"]))"
    assert SMS_CAMPAIGN not in lookup.query["filter"]


# --- a campaign counts on its send day, in the account's time zone ------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "send_time", "day"),
    [
        ("America/New_York", "2025-06-02T03:30:00+00:00", date(2025, 6, 1)),  # 23:30 on June 1 in New York
        ("Europe/Berlin", "2025-06-01T22:30:00+00:00", date(2025, 6, 2)),  # 00:30 on June 2 in Berlin
        ("UTC", "2025-06-02T03:30:00Z", date(2025, 6, 2)),
    ],
)
async def test_a_campaign_counts_on_its_send_day_in_the_account_time_zone(
    time_zone: str, send_time: str, day: date
) -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo, send_time)
        account = AccountInfo("XyZ123", "Linen & Co", "USD", time_zone)
        days = await connector_for(klaviyo, http).metric_days(JUNE, account)
    [sent_on] = {d.day for d in days if d.breakdown and d.breakdown.member == EMAIL_CAMPAIGN}
    assert sent_on == day
    assert account_rows(days)[(day, "email_delivered")] == 18107


async def test_a_campaign_sent_before_the_window_belongs_to_another_read() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo, "2025-06-01T03:00:00+00:00")  # 23:00 on May 31 in New York
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert not [d for d in days if d.breakdown and d.breakdown.dimension == "email_campaign"]
    assert sum(v for (_, k), v in account_rows(days).items() if k == "email_delivered") == 0


# --- pagination, account, currency -----------------------------------------------------------------


async def test_campaign_lookups_follow_klaviyos_next_links() -> None:
    second = "01JT9M2K7Q4WZ8B3N6C5X1V0RA"  # a second campaign id, as Klaviyo writes them
    values = campaign_values_body()
    extra = copy.deepcopy(values["data"]["attributes"]["results"][0])
    extra["groupings"]["campaign_id"] = second
    values["data"]["attributes"]["results"].append(extra)
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[CAMPAIGN_VALUES].clear()
        klaviyo.answers[CAMPAIGNS].clear()
        klaviyo.script(CAMPAIGN_VALUES, Answer(200, values))
        next_url = f"{klaviyo.url}{CAMPAIGNS}?page%5Bcursor%5D=bmV4dA"
        klaviyo.script(
            CAMPAIGNS,
            Answer(200, campaigns_page((EMAIL_CAMPAIGN, "June Launch", "2025-06-01T15:00:00Z"), next_url=next_url)),
            Answer(200, campaigns_page((second, "Second Drop", "2025-06-03T15:00:00Z"))),
        )
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert [r.query.get("page[cursor]") for r in klaviyo.requests(CAMPAIGNS)] == [None, "bmV4dA"]
    placed = {(d.day, d.breakdown.member) for d in days if d.breakdown and d.breakdown.dimension == "email_campaign"}
    assert placed == {(date(2025, 6, 1), EMAIL_CAMPAIGN), (date(2025, 6, 3), second)}


async def test_account_info_is_the_accounts_name_currency_and_time_zone() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        klaviyo.script(ACCOUNTS, Answer(200, account_body(time_zone="Europe/Berlin", currency="EUR")))
        info = await connector_for(klaviyo, http).account_info()
    assert info == AccountInfo("XyZ123", "Linen & Co", "EUR", "Europe/Berlin")


async def test_a_key_of_another_account_is_refused_by_name() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        klaviyo.script(ACCOUNTS, Answer(200, account_body(account_id="Other9")))
        with pytest.raises(PlatformError, match="Other9"):
            await connector_for(klaviyo, http).account_info()


@pytest.mark.parametrize(("currency", "revenue"), [("USD", 1187342), ("JPY", 11873), ("KWD", 11873420)])
async def test_revenue_is_in_minor_units_of_the_accounts_currency(currency: str, revenue: int) -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[FLOW_SERIES].clear()
        klaviyo.script(FLOW_SERIES, Answer(200, empty_flows()))
        account = AccountInfo("XyZ123", None, currency, "America/New_York")
        days = await connector_for(klaviyo, http).metric_days(JUNE, account)
    assert account_rows(days)[(date(2025, 6, 1), "email_revenue_minor")] == revenue
    assert {d.currency for d in days if d.metric_key == "email_revenue_minor"} == {currency}


# --- the conversion metric ----------------------------------------------------------------------------


async def test_the_connections_conversion_metric_is_used_without_looking_it_up() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        await connector_for(klaviyo, http, options={"conversion_metric_id": "AbC123"}).metric_days(JUNE, NEW_YORK)
    assert klaviyo.requests(METRICS) == []
    for path in (CAMPAIGN_VALUES, FLOW_SERIES):
        assert json.loads(klaviyo.requests(path)[0].body)["data"]["attributes"]["conversion_metric_id"] == "AbC123"


def metric(metric_id: str, name: str, category: str) -> dict[str, Any]:
    integration = {"object": "integration", "key": category.lower(), "name": category, "category": category}
    return {"type": "metric", "id": metric_id, "attributes": {"name": name, "integration": integration}}


@pytest.mark.parametrize(
    ("listed", "chosen"),
    [
        ([metric("A1", "Ordered Product", "eCommerce"), metric("Y6Hmxn", "Placed Order", "eCommerce")], "Y6Hmxn"),
        ([metric("Api1", "Placed Order", "API"), metric("Shop1", "Placed Order", "eCommerce")], "Shop1"),
        ([metric("Api1", "Placed Order", "API")], "Api1"),
    ],
)
async def test_without_one_the_placed_order_metric_is_found(listed: list[dict[str, Any]], chosen: str) -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[METRICS].clear()
        klaviyo.script(METRICS, Answer(200, {"data": listed, "links": {"next": None}}))
        await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert json.loads(klaviyo.requests(CAMPAIGN_VALUES)[0].body)["data"]["attributes"]["conversion_metric_id"] == chosen


async def test_an_account_without_placed_order_says_which_option_to_set() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        klaviyo.script(METRICS, Answer(200, {"data": [metric("A1", "Opened Email", "Internal")], "links": {}}))
        with pytest.raises(PlatformError, match="conversion_metric_id"):
            await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
        assert klaviyo.requests(CAMPAIGN_VALUES) == []


def test_a_conversion_metric_option_must_look_like_a_klaviyo_id() -> None:
    spec = REGISTRY.get("klaviyo")
    assert spec.options_of({"conversion_metric_id": "Y6Hmxn"}) == {"conversion_metric_id": "Y6Hmxn"}
    assert spec.options_of({}) == {}
    with pytest.raises(ValueError, match="conversion_metric_id"):
        spec.options_of({"conversion_metric_id": "Y6 Hmxn; drop"})


# --- throttling and refusals ---------------------------------------------------------------------------


async def test_a_short_throttle_is_waited_out() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[CAMPAIGN_VALUES].appendleft(sample_answer("throttled_429"))
        clock = VirtualClock()
        days = await connector_for(klaviyo, http, clock=clock).metric_days(JUNE, NEW_YORK)
    assert clock.slept == [1.0]  # the documented Retry-After: 1
    assert len(klaviyo.requests(CAMPAIGN_VALUES)) == 2
    assert account_rows(days)[(date(2025, 6, 1), "email_delivered")] == 18107


async def test_a_daily_limit_wait_leaves_as_must_wait() -> None:
    throttled = sample("throttled_429")
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[FLOW_SERIES].clear()
        klaviyo.script(FLOW_SERIES, Answer(429, throttled["body"], {"Retry-After": "67608"}))
        clock = VirtualClock()
        with pytest.raises(MustWait) as waiting:
            await connector_for(klaviyo, http, clock=clock).metric_days(JUNE, NEW_YORK)
    assert waiting.value.until == clock.now() + timedelta(seconds=67608)
    assert len(klaviyo.requests(FLOW_SERIES)) == 1 and clock.slept == []


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (401, "authentication_failed", "Incorrect authentication credentials."),
        (401, "not_authenticated", "Missing or invalid authorization scheme. Please use Klaviyo-API-Key."),
        (403, "permission_denied", "This API key is missing required scopes."),
    ],
)
async def test_a_refused_key_needs_a_new_key_and_says_why(status: int, code: str, detail: str) -> None:
    error = {"errors": [{"id": "e1", "status": status, "code": code, "title": "Refused.", "detail": detail}]}
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        klaviyo.script(ACCOUNTS, Answer(status, error))
        with pytest.raises(ReconnectRequired, match=detail.rstrip(".")):
            await connector_for(klaviyo, http).account_info()
        assert len(klaviyo.requests(ACCOUNTS)) == 1


async def test_a_bad_request_is_a_refusal_in_klaviyos_words() -> None:
    error = {"errors": [{"id": "e", "status": 400, "code": "invalid", "title": "Invalid input.", "detail": "bad id"}]}
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[CAMPAIGN_VALUES].clear()
        klaviyo.script(CAMPAIGN_VALUES, Answer(400, error))
        with pytest.raises(PlatformError, match="bad id") as refused:
            await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert not isinstance(refused.value, ReconnectRequired)


async def test_server_errors_are_retried() -> None:
    async with scripted_platform() as klaviyo, httpx.AsyncClient() as http:
        script_documented(klaviyo)
        klaviyo.answers[FLOW_SERIES].appendleft(Answer(503, {"errors": []}))
        days = await connector_for(klaviyo, http).metric_days(JUNE, NEW_YORK)
    assert len(klaviyo.requests(FLOW_SERIES)) == 2
    assert account_rows(days)[(date(2025, 6, 2), "email_recipients")] == 586
