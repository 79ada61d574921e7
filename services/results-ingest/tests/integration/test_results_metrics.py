"""The results-ingest metrics against the sandbox: every request a connector sends is counted by
outcome, a throttled answer by the platform's own signal, backfills and their slices once they
commit, and the connection-health gauge follows what any process (the sync CronJob too) stored."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import (
    EXECUTIVE,
    SandboxControl,
    as_user,
    platform_connector,
    run_sync,
    running_service,
    seed_client,
    settings_for,
)

from clientpulse.results_ingest import metrics
from clientpulse.results_ingest.connectors.base import (
    Credentials,
    GaveUp,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    request_outcome,
)
from clientpulse.results_ingest.platforms.google_ads import connector as google_ads
from clientpulse.results_ingest.platforms.meta_ads import connector as meta
from clientpulse.results_ingest.platforms.tiktok_ads import connector as tiktok
from clientpulse.shared.db import Database
from clientpulse.shared.embedded import free_port
from clientpulse.shared.testing.waiting import wait_until


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests(platform: str, outcome: str) -> float:
    return sample("clientpulse_connector_requests_total", platform=platform, outcome=outcome)


def throttled(platform: str, signal: str) -> float:
    return sample("clientpulse_connector_throttled_total", platform=platform, signal=signal)


def timed(platform: str) -> float:
    return sample("clientpulse_connector_request_seconds_count", platform=platform)


class Snapshot:
    """Connector counters of one platform before a test, to compare deltas (the registry is process-wide)."""

    def __init__(self, platform: str, signals: list[str]) -> None:
        self.platform = platform
        self.signals = signals
        self.outcomes = {outcome: requests(platform, outcome) for outcome in metrics.REQUEST_OUTCOMES}
        self.throttles = {signal: throttled(platform, signal) for signal in signals}
        self.timed = timed(platform)

    def outcome_deltas(self) -> dict[str, float]:
        deltas = {o: requests(self.platform, o) - before for o, before in self.outcomes.items()}
        return {outcome: delta for outcome, delta in deltas.items() if delta}

    def throttle_deltas(self) -> dict[str, float]:
        return {s: throttled(self.platform, s) - before for s, before in self.throttles.items()}


EXHAUSTED = {"error": {"code": 429, "message": "Resource has been exhausted.", "status": "RESOURCE_EXHAUSTED"}}


def response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "answer", "signal"),
    [
        ("meta_ads", response(400, {"error": {"code": 80000, "message": "too many calls"}}), "meta_80000"),
        ("meta_ads", response(400, {"error": {"code": 17, "message": "user request limit"}}), "meta_17"),
        ("meta_ads", response(429, {"error": {"message": "Too Many Requests"}}), "http_429"),
        ("google_ads", response(429, EXHAUSTED), "google_resource_exhausted"),
        ("google_ads", response(429, [EXHAUSTED]), "google_resource_exhausted"),  # searchStream's array
        ("google_ads", response(429, {"error": {"message": "Too Many Requests"}}), "http_429"),
        ("tiktok_ads", response(200, {"code": 40100, "message": "App reaches the QPS limit."}), "tiktok_40100"),
        ("tiktok_ads", httpx.Response(429, content=b"slow down"), "http_429"),
    ],
)  # fmt: skip
def test_the_throttle_signal_is_the_platforms_own(platform: str, answer: httpx.Response, signal: str) -> None:
    interpret = {
        "meta_ads": partial(meta.interpret, app_pause_seconds=300),
        "google_ads": google_ads.interpret,
        "tiktok_ads": tiktok.interpret,
    }
    with pytest.raises(Throttled) as throttled:
        interpret[platform](answer)
    assert throttled.value.signal == signal


@pytest.mark.parametrize(
    ("error", "answered", "outcome"),
    [
        (Throttled("slow down"), True, "throttled"),
        (TokenExpired("expired"), True, "auth_error"),
        (ReconnectRequired("revoked"), True, "auth_error"),
        (PlatformError("no such account"), True, "client_error"),
        (Transient("503"), True, "server_error"),
        (Transient("ConnectError"), False, "transport_error"),
        (KeyError("data"), True, "server_error"),
    ],
)
def test_request_outcomes(error: Exception, answered: bool, outcome: str) -> None:
    assert request_outcome(error, httpx.Response(200) if answered else None) == outcome


# --------------------------------------------------------------------------------------------
# Connectors against the sandbox, with injected faults
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "account", "faults", "signals", "outcomes"),
    [
        (
            "meta_ads",
            "8701",
            ["throttle", "throttle_17", "rate_limit:0", "server_error"],
            {"meta_80000": 1, "meta_17": 1, "http_429": 1},
            {"throttled": 3, "server_error": 1, "ok": 1},
        ),
        (
            "google_ads",
            "8702",
            ["throttle", "rate_limit:0", "server_error", "expired_token"],
            {"google_resource_exhausted": 1, "http_429": 1},
            {"throttled": 2, "server_error": 1, "auth_error": 1, "ok": 2},  # the token refresh is a request too
        ),
        (
            "tiktok_ads",
            "8703",
            ["throttle", "rate_limit:0", "malformed", "expired_token"],
            {"tiktok_40100": 1, "http_429": 1},
            {"throttled": 2, "server_error": 1, "auth_error": 1, "ok": 2},
        ),
    ],
)
async def test_a_throttled_connector_counts_the_platforms_signal(
    sandbox: SandboxControl,
    platform: str,
    account: str,
    faults: list[str],
    signals: dict[str, int],
    outcomes: dict[str, int],
) -> None:
    settings = settings_for(sandbox.url)
    grant = sandbox.grant(platform)
    before = Snapshot(platform, list(signals))
    sandbox.queue(platform, account, *faults)
    async with httpx.AsyncClient(timeout=10) as http:
        connector, _ = platform_connector(platform, settings, http, Credentials(**grant), account, attempts=6)
        info = await connector.account_info()
    assert info.account_id == account
    assert before.throttle_deltas() == signals
    assert before.outcome_deltas() == outcomes
    assert timed(platform) - before.timed == sum(outcomes.values())


async def test_a_platform_that_never_answers_counts_transport_errors() -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(unreachable, max_retries=3)
    before = Snapshot("meta_ads", [])
    async with httpx.AsyncClient(timeout=2) as http:
        connector, _ = platform_connector("meta_ads", settings, http, Credentials(access_token="t"), "8704", attempts=3)
        with pytest.raises(GaveUp):
            await connector.account_info()
    assert before.outcome_deltas() == {"transport_error": 3}


async def test_a_refused_request_is_a_client_error(sandbox: SandboxControl) -> None:
    grant = sandbox.grant("google_ads")
    before = Snapshot("google_ads", [])
    async with httpx.AsyncClient(timeout=10) as http:
        connector, _ = platform_connector("google_ads", settings_for(sandbox.url), http, Credentials(**grant), "8705")
        assert isinstance(connector, google_ads.GoogleAdsConnector)
        # A query Google cannot run: 400 INVALID_ARGUMENT, refused for good.
        with pytest.raises(PlatformError):
            await connector.search("SELECT ad_group.id FROM ad_group")
    assert before.outcome_deltas() == {"client_error": 1}


# --------------------------------------------------------------------------------------------
# Backfills and connection health through the running service
# --------------------------------------------------------------------------------------------


def backfills(outcome: str) -> float:
    return sample("clientpulse_backfills_total", outcome=outcome)


def slices(platform: str, outcome: str) -> float:
    return sample("clientpulse_backfill_slices_total", platform=platform, outcome=outcome)


def rows(platform: str) -> float:
    return sample("clientpulse_results_rows_written_total", platform=platform)


def connections(platform: str, status: str) -> float:
    return sample("clientpulse_connections", platform=platform, status=status)


async def connect(api: httpx.AsyncClient, sandbox: SandboxControl, client_id: str, platform: str, account: str) -> None:
    response = await api.post(
        f"/api/v1/clients/{client_id}/connections",
        json={"platform": platform, "account_id": account, "method": "token", **sandbox.grant(platform)},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text


async def backfill(api: httpx.AsyncClient, client_id: str) -> dict[str, Any]:
    started = await api.post(
        f"/api/v1/clients/{client_id}/results/backfills", json={"days": 30}, headers=as_user(EXECUTIVE)
    )
    assert started.status_code == 202, started.text

    async def closed() -> bool:
        state = (await api.get(started.headers["Location"], headers=as_user(EXECUTIVE))).json()
        return state["status"] in ("completed", "failed")

    assert await wait_until(closed, within=60)
    state: dict[str, Any] = (await api.get(started.headers["Location"], headers=as_user(EXECUTIVE))).json()
    return state


@pytest.mark.integration
async def test_backfills_slices_rows_and_connection_health_are_counted(
    postgres_url: str, clean_nats: str, sandbox: SandboxControl
) -> None:
    platforms = ("meta_ads", "google_ads")
    before_backfills = {outcome: backfills(outcome) for outcome in metrics.BACKFILL_OUTCOMES}
    before_slices = {(p, o): slices(p, o) for p in platforms for o in metrics.SLICE_OUTCOMES}
    before_rows = {p: rows(p) for p in platforms}
    async with running_service(postgres_url, clean_nats, sandbox.url) as api:
        for client_id in ("c-fill", "c-stuck"):
            await seed_client(postgres_url, client_id)
        await connect(api, sandbox, "c-fill", "meta_ads", "8710")
        await connect(api, sandbox, "c-fill", "google_ads", "8711")
        await connect(api, sandbox, "c-stuck", "google_ads", "8712")

        done = await backfill(api, "c-fill")
        assert done["status"] == "completed"
        assert done["slices_total"] == 6  # Meta 7-day slices: 5; Google: one 30-day slice
        # Google keeps answering 503 past the retries: the only slice, and with it the backfill, fails.
        sandbox.queue("google_ads", "8712", *["server_error"] * 6)
        failed = await backfill(api, "c-stuck")
        assert failed["status"] == "failed"

        assert {o: backfills(o) - before_backfills[o] for o in metrics.BACKFILL_OUTCOMES} == {
            "completed": 1,
            "failed": 1,
        }
        assert {key: slices(*key) - value for key, value in before_slices.items()} == {
            ("meta_ads", "completed"): 5,
            ("meta_ads", "failed"): 0,
            ("google_ads", "completed"): 1,
            ("google_ads", "failed"): 1,
        }
        written = sum(rows(p) - before_rows[p] for p in platforms)
        assert written == done["rows_written"] > 0

        # The daily sync (the CronJob's own process in production) finds one token revoked and one
        # platform failing; the gauge shows what it stored, read back from the database.
        sandbox.queue("meta_ads", "8710", "expired_token")
        sandbox.queue("google_ads", "8711", *["server_error"] * 6)
        database = Database(postgres_url)
        try:
            report = await run_sync(settings_for(sandbox.url, database_url=postgres_url), database)
            assert (report.synced, report.failed) == (1, 2)
            census = asyncio.create_task(metrics.refresh_connections(database, interval=0.1))
            try:

                async def shown() -> bool:
                    return (
                        connections("meta_ads", "expired"),
                        connections("google_ads", "error"),
                        connections("google_ads", "connected"),
                        connections("meta_ads", "connected"),
                    ) == (1, 1, 1, 0)

                assert await wait_until(shown, within=10)
            finally:
                census.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await census
        finally:
            await database.dispose()

        scrape = (await api.get("/metrics")).text
    for name in (
        "clientpulse_backfills_total",
        "clientpulse_backfill_slices_total",
        "clientpulse_results_rows_written_total",
        "clientpulse_connector_requests_total",
        "clientpulse_connector_request_seconds_bucket",
        "clientpulse_connections",
    ):
        assert f"\n{name}{{" in scrape, name
