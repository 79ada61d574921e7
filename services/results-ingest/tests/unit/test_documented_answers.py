"""Each connector over loopback HTTP against the platforms' documented answers for every case the
platforms really send: long throttles, app-wide limits, token endpoint refusals, manager accounts,
long-lived tokens, purchase amounts and reach. Long waits are made short by a virtual clock."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import VirtualClock, platform_connector, settings_for
from scripted import Answer, scripted_platform

from clientpulse.results_ingest.connectors.base import (
    Credentials,
    Misconfigured,
    MustWait,
    PlatformError,
    ReconnectRequired,
)
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.domain.connections import connection_status_for
from clientpulse.results_ingest.domain.ingest import Runtime, renew_if_due
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.pauses import LocalPauses
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.platforms.google_ads.connector import GoogleAdsConnector, parse_reach
from clientpulse.results_ingest.platforms.tiktok_ads.connector import PURCHASE_VALUE_METRIC
from clientpulse.results_ingest.secrets_vault import SecretBox

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
META_ACCOUNT = "/meta/v25.0/act_1001"
ACCOUNT_BODY = {"name": "Demo", "currency": "EUR", "timezone_name": "Europe/Berlin", "id": "act_1001"}


def sample_answer(name: str) -> Answer:
    recorded = json.loads((SAMPLES / f"{name}.json").read_text())["response"]
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return Answer(recorded["status"], recorded["body"], headers)


def buc(account: str, minutes: int, code_usage: int = 100) -> dict[str, str]:
    usage = {
        account: [
            {
                "type": "ads_management",
                "call_count": code_usage,
                "total_cputime": 20,
                "total_time": 20,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"x-business-use-case-usage": json.dumps(usage)}


def meta_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


# --- 1. Meta throttles with long waits --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "minutes"),
    [
        (sample_answer("meta__insights_throttled_80000"), 19),  # the documented 80000 with 19 minutes
        (Answer(400, meta_error(17, "User request limit reached", 2446079), buc("1001", 45)), 45),
        (Answer(400, meta_error(80004, "There have been too many calls to this ad-account."), buc("1001", 90)), 90),
    ],
)
async def test_a_long_meta_wait_is_not_an_error_and_pauses_the_account_for_every_worker(
    answer: Answer, minutes: int
) -> None:
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(META_ACCOUNT, answer)
        settings, clock, pauses = settings_for(meta.url), VirtualClock(), LocalPauses()
        connector, _ = platform_connector(
            "meta_ads", settings, http, Credentials("t"), "1001", clock=clock, pauses=pauses
        )
        with pytest.raises(MustWait) as waiting:
            await connector.account_info()
        assert waiting.value.until == clock.now() + timedelta(minutes=minutes)
        assert len(meta.requests(META_ACCOUNT)) == 1  # the named wait is not retried into
        # Another worker (another replica shares the pauses) does not call Meta for that account…
        other, _ = platform_connector("meta_ads", settings, http, Credentials("t"), "1001", clock=clock, pauses=pauses)
        with pytest.raises(MustWait):
            await other.account_info()
        assert len(meta.requests(META_ACCOUNT)) == 1
        # …until the time Meta named has come: then the work continues.
        meta.script(META_ACCOUNT, Answer(200, ACCOUNT_BODY))
        clock.advance(minutes * 60)
        assert (await other.account_info()).currency == "EUR"


async def test_a_short_meta_wait_is_slept_through() -> None:
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(META_ACCOUNT, Answer(400, meta_error(80000, "too many calls"), buc("1001", 0)))
        meta.script(META_ACCOUNT, Answer(200, ACCOUNT_BODY))
        clock = VirtualClock()
        connector, _ = platform_connector(
            "meta_ads", settings_for(meta.url), http, Credentials("t"), "1001", clock=clock
        )
        assert (await connector.account_info()).name == "Demo"
        assert len(clock.slept) == 1 and clock.slept[0] < 30


# --- 2. Meta's application-wide limit ----------------------------------------------------------------


async def test_code_4_pauses_every_meta_call_of_the_app() -> None:
    app_usage = {"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 30, "total_time": 40})}
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(META_ACCOUNT, Answer(400, meta_error(4, "Application request limit reached", 1504022), app_usage))
        settings, clock, pauses = settings_for(meta.url), VirtualClock(), LocalPauses()
        first, _ = platform_connector("meta_ads", settings, http, Credentials("a"), "1001", clock=clock, pauses=pauses)
        with pytest.raises(MustWait) as waiting:
            await first.account_info()
        app_pause = settings.platform_settings(REGISTRY.get("meta_ads")).app_pause_seconds
        assert waiting.value.until == clock.now() + timedelta(seconds=app_pause)
        assert waiting.value.signal == "meta_4"
        # Every other account of the app waits too, without a single call.
        other, _ = platform_connector("meta_ads", settings, http, Credentials("b"), "2002", clock=clock, pauses=pauses)
        with pytest.raises(MustWait):
            await other.account_info()
        assert [s.path for s in meta.seen] == [META_ACCOUNT]


@pytest.mark.parametrize(
    "headers",
    [
        {"x-app-usage": json.dumps({"call_count": 96, "total_cputime": 12, "total_time": 20})},
        {"x-fb-ads-insights-throttle": json.dumps({"app_id_util_pct": 100, "acc_id_util_pct": 3})},
    ],
)
async def test_an_app_at_its_limit_pauses_before_meta_refuses(headers: dict[str, str]) -> None:
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(META_ACCOUNT, Answer(200, ACCOUNT_BODY, headers))
        settings, clock, pauses = settings_for(meta.url), VirtualClock(), LocalPauses()
        connector, _ = platform_connector(
            "meta_ads", settings, http, Credentials("a"), "1001", clock=clock, pauses=pauses
        )
        assert (await connector.account_info()).name == "Demo"  # the answer itself is used
        until = await pauses.until("meta_ads.app")
        assert until is not None and until > clock.now()
        with pytest.raises(MustWait):
            await connector.account_info()


# --- 3. TikTok revenue --------------------------------------------------------------------------------


async def test_tiktok_asks_for_the_purchase_amount_and_stores_it_as_reported() -> None:
    report = "/tiktok/open_api/v1.3/report/integrated/get/"
    row = {
        "dimensions": {"campaign_id": "7", "stat_time_day": "2026-11-01 00:00:00"},
        "metrics": {
            "campaign_name": "Sale",
            "spend": "33.33",
            "impressions": "1000",
            "clicks": "10",
            "reach": "900",
            "conversion": "2",
            PURCHASE_VALUE_METRIC: "100.01",
            "complete_payment_roas": "3.00",
        },
    }
    async with scripted_platform() as tiktok, httpx.AsyncClient() as http:
        tiktok.script(
            "/tiktok/open_api/v1.3/advertiser/info/",
            Answer(200, {"code": 0, "data": {"list": [{"name": "A", "currency": "USD", "timezone": "UTC"}]}}),
        )
        tiktok.script(report, Answer(200, {"code": 0, "data": {"list": [row], "page_info": {"total_page": 1}}}))
        tiktok.script(
            "/tiktok/open_api/v1.3/campaign/get/",
            Answer(200, {"code": 0, "data": {"list": [], "page_info": {"total_page": 1}}}),
        )
        connector, _ = platform_connector("tiktok_ads", settings_for(tiktok.url), http, Credentials("t"), "7001")
        account = await connector.account_info()
        days = await connector.campaign_days(DateRange(date(2026, 11, 1), date(2026, 11, 1)), account)
    assert [d.conversion_value_minor for d in days] == [10001]  # not 3.00 × 33.33 = 99.99
    asked = json.loads(tiktok.requests(report)[0].query["metrics"])
    assert PURCHASE_VALUE_METRIC in asked and "complete_payment_roas" not in asked


# --- 4. Google Ads through a manager account ------------------------------------------------------------


async def test_google_ads_logs_in_through_the_manager_and_lists_its_client_accounts() -> None:
    list_path = "/google-ads/v21/customers:listAccessibleCustomers"
    manager_search = "/google-ads/v21/customers/9000000001/googleAds:search"
    client_search = "/google-ads/v21/customers/2002002002/googleAds:search"
    clients = [
        {"customerClient": {"id": "9000000001", "descriptiveName": "Agency MCC", "manager": True, "level": "0"}},
        {
            "customerClient": {
                "id": "2002002002",
                "descriptiveName": "Bluebird",
                "manager": False,
                "level": "1",
                "currencyCode": "USD",
                "timeZone": "America/New_York",
            }
        },
    ]
    customer = {
        "customer": {"id": "2002002002", "descriptiveName": "Bluebird", "currencyCode": "USD", "timeZone": "UTC"}
    }
    async with scripted_platform() as google, httpx.AsyncClient() as http:
        google.script(list_path, Answer(200, {"resourceNames": ["customers/9000000001"]}))
        google.script(manager_search, Answer(200, {"results": clients}))
        google.script(client_search, Answer(200, {"results": [customer]}))
        settings = settings_for(google.url)
        lister, _ = platform_connector("google_ads", settings, http, Credentials("t"), "9000000001")
        choices = await lister.accessible_accounts()
        client = next(c for c in choices if c.account_id == "2002002002")
        assert client.options == {"login_customer_id": "9000000001"} and not client.manager
        assert next(c for c in choices if c.account_id == "9000000001").manager
        connector, _ = platform_connector(
            "google_ads", settings, http, Credentials("t"), "2002002002", options=client.options
        )
        assert isinstance(connector, GoogleAdsConnector)
        assert (await connector.account_info()).name == "Bluebird"
    assert google.requests(client_search)[0].headers["login-customer-id"] == "9000000001"
    assert "login-customer-id" not in google.requests(list_path)[0].headers


def test_connection_options_are_checked_against_the_platforms_declaration() -> None:
    spec = REGISTRY.get("google_ads")
    assert spec.options_of({"login_customer_id": "900-000-0001"}) == {"login_customer_id": "900-000-0001"}
    with pytest.raises(ValueError, match="login_customer_id"):
        spec.options_of({"login_customer_id": "not-an-id"})
    with pytest.raises(ValueError, match="no options"):
        REGISTRY.get("meta_ads").options_of({"login_customer_id": "9000000001"})


# --- 5. Token endpoint errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected", "status"),
    [
        # Only a dead grant expires the connection, with Google's own words.
        ([Answer(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})],
         ReconnectRequired, ConnectionStatus.EXPIRED),
        # Our own OAuth client is wrong: an error to fix in the settings, not an expired connection.
        ([Answer(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})],
         Misconfigured, ConnectionStatus.ERROR),
        # A throttle and a server error are retried, and the refresh succeeds.
        ([Answer(429, {"error": "rate_limit_exceeded"}, {"Retry-After": "3"}), Answer(503, {}),
          sample_answer("google_ads__oauth_token_refresh")], None, None),
    ],
)  # fmt: skip
async def test_google_token_endpoint_answers(answers: list[Answer], expected: type | None, status: Any) -> None:
    search = "/google-ads/v21/customers/2002/googleAds:search"
    customer = {"customer": {"id": "2002", "descriptiveName": "G", "currencyCode": "USD", "timeZone": "UTC"}}
    async with scripted_platform() as google, httpx.AsyncClient() as http:
        google.script(search, Answer(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "expired"}}))
        google.script(search, Answer(200, {"results": [customer]}))
        google.script("/google-oauth/token", *answers)
        clock, refreshed = VirtualClock(), []
        connector, _ = platform_connector(
            "google_ads", settings_for(google.url), http, Credentials("old", "r-1"), "2002",
            clock=clock, refreshed=refreshed,
        )  # fmt: skip
        if expected is None:
            assert (await connector.account_info()).currency == "USD"
            assert refreshed[0].access_token.startswith("ya29.") and 3.0 in clock.slept
            return
        with pytest.raises(expected) as refused:  # type: ignore[var-annotated]
            await connector.account_info()
    found, message = connection_status_for(refused.value)
    assert found is status
    assert ("expired or revoked" in message) if expected is ReconnectRequired else ("OAuth client" in message)


@pytest.mark.parametrize(
    ("code", "expected"),
    [(40107, ReconnectRequired), (40105, ReconnectRequired), (40001, Misconfigured), (40002, PlatformError)],
)
async def test_tiktok_token_endpoint_codes(code: int, expected: type) -> None:
    info = "/tiktok/open_api/v1.3/advertiser/info/"
    async with scripted_platform() as tiktok, httpx.AsyncClient() as http:
        tiktok.script(info, Answer(200, {"code": 40102, "message": "Access token has expired."}))
        tiktok.script(
            "/tiktok/open_api/v1.3/oauth2/refresh_token/", Answer(200, {"code": code, "message": f"refused {code}"})
        )
        connector, _ = platform_connector("tiktok_ads", settings_for(tiktok.url), http, Credentials("t", "r"), "7")
        with pytest.raises(expected, match=f"refused {code}"):
            await connector.account_info()


# --- 6. Meta long-lived tokens -------------------------------------------------------------------------------


async def test_meta_exchanges_the_code_for_a_long_lived_token_at_once() -> None:
    path = "/meta/v25.0/oauth/access_token"
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(
            path,
            Answer(200, {"access_token": "short", "token_type": "bearer", "expires_in": 5400}),
            Answer(200, {"access_token": "long", "token_type": "bearer", "expires_in": 5183944}),
        )
        spec = REGISTRY.get("meta_ads")
        settings = settings_for(meta.url)
        _, ctx = platform_connector("meta_ads", settings, http, Credentials(""), "1001")
        credentials = await spec.auth.exchange_code(  # type: ignore[union-attr]
            ctx,
            settings.platform_settings(spec),
            code="c0de",
            redirect_uri="http://cb",
            verifier=None,
            account_id="1001",
        )
    assert credentials.access_token == "long"
    assert credentials.expires_at == ctx.clock.now() + timedelta(seconds=5183944)
    exchange = meta.requests(path)[1].query
    assert exchange["grant_type"] == "fb_exchange_token" and exchange["fb_exchange_token"] == "short"


@pytest.mark.parametrize(("days_left", "renewed"), [(10, True), (20, False)])
async def test_meta_tokens_are_renewed_in_their_last_two_weeks(days_left: int, renewed: bool) -> None:
    path = "/meta/v25.0/oauth/access_token"
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script(path, Answer(200, {"access_token": "renewed", "expires_in": 5183944}))
        settings, clock = settings_for(meta.url), VirtualClock()
        old = Credentials("old", None, clock.now() + timedelta(days=days_left))
        stored: list[Credentials] = []
        _, ctx = platform_connector("meta_ads", settings, http, old, "1001", clock=clock, refreshed=stored)
        runtime = Runtime(settings, SecretBox.from_json(settings.encryption_keys.get_secret_value()), http, clock)
        await renew_if_due(runtime, ctx, REGISTRY.get("meta_ads"))
    assert (ctx.credentials.access_token == "renewed") is renewed
    assert len(stored) == (1 if renewed else 0)  # renewed credentials are stored before they are used


async def test_a_failed_meta_renewal_keeps_the_token_in_hand() -> None:
    async with scripted_platform() as meta, httpx.AsyncClient() as http:
        meta.script("/meta/v25.0/oauth/access_token", Answer(400, meta_error(190, "Error validating access token")))
        settings, clock = settings_for(meta.url), VirtualClock()
        old = Credentials("old", None, clock.now() + timedelta(days=3))
        _, ctx = platform_connector("meta_ads", settings, http, old, "1001", clock=clock)
        runtime = Runtime(settings, SecretBox.from_json(settings.encryption_keys.get_secret_value()), http, clock)
        await renew_if_due(runtime, ctx, REGISTRY.get("meta_ads"))
    assert ctx.credentials.access_token == "old"


# --- 7. Reach ----------------------------------------------------------------------------------------------------


async def test_google_ads_reach_is_the_unique_users_of_the_window() -> None:
    stream = "/google-ads/v21/customers/2002/googleAds:searchStream"
    rows = [
        {"campaign": {"id": "1"}, "metrics": {"uniqueUsers": "5400", "impressions": "20000"}},
        {"campaign": {"id": "2"}, "metrics": {"impressions": "900"}},  # a Search campaign: no unique users
    ]
    async with scripted_platform() as google, httpx.AsyncClient() as http:
        google.script(stream, Answer(200, [{"results": rows}]))
        connector, _ = platform_connector("google_ads", settings_for(google.url), http, Credentials("t"), "2002")
        reach = await connector.period_reach(DateRange(date(2026, 11, 1), date(2026, 11, 30)))
        too_long = await connector.period_reach(DateRange(date(2026, 1, 1), date(2026, 6, 30)))
    assert reach == {"1": (5400, 20000)}
    assert too_long == {}  # Google reports unique users for at most 92 days
    query = json.loads(google.requests(stream)[0].body)["query"]
    assert "metrics.unique_users" in query and "segments.date BETWEEN '2026-11-01' AND '2026-11-30'" in query
    assert "segments.date," not in query  # one figure for the window, not per day
    assert parse_reach([{"results": rows}]) == {"1": (5400, 20000)}


def test_the_now_of_a_virtual_clock_moves_only_when_told() -> None:
    clock = VirtualClock(datetime(2026, 12, 5, tzinfo=UTC))
    clock.advance(60)
    assert clock.now() == datetime(2026, 12, 5, 0, 1, tzinfo=UTC)


def _google_failure(status: int, grpc: str, code: dict[str, str], message: str) -> httpx.Response:
    body = {
        "error": {
            "code": status,
            "message": "The caller does not have permission" if status == 403 else "Request is invalid.",
            "status": grpc,
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                    "errors": [{"errorCode": code, "message": message}],
                    "requestId": "r1",
                }
            ],
        }
    }
    return httpx.Response(status, json=body)


def test_google_refusals_carry_the_failures_own_words() -> None:
    from clientpulse.results_ingest.platforms.google_ads import connector as google_ads

    missing_manager = _google_failure(
        403,
        "PERMISSION_DENIED",
        {"authorizationError": "USER_PERMISSION_DENIED"},
        "User doesn't have permission to access customer. Note: If you're accessing a client customer, the "
        "manager's customer id must be set in the 'login-customer-id' header.",
    )
    with pytest.raises(PlatformError, match="login-customer-id") as refused:
        google_ads.interpret(missing_manager)
    assert connection_status_for(refused.value)[0] is ConnectionStatus.ERROR
    developer_token = _google_failure(
        403,
        "PERMISSION_DENIED",
        {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"},
        "The developer token is only approved for use with test accounts.",
    )
    with pytest.raises(Misconfigured, match="only approved for use with test accounts"):
        google_ads.interpret(developer_token)
