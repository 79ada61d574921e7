"""The results-ingest API against PostgreSQL, NATS and the sandbox: connections, OAuth, backfill, results."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import nats
import pytest
import pytest_asyncio
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import (
    EMPLOYEE,
    EXECUTIVE,
    MANAGER_S1,
    MANAGER_S2,
    SandboxControl,
    as_user,
    metric_lines,
    running_service,
    seed_client,
)

from clientpulse.results_ingest.db.models import Connection
from clientpulse.shared.db import Database
from clientpulse.shared.testing.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(results_database: str, nats_url: str, sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(results_database, nats_url, sandbox_url, consumer_backoff=[0.2, 0.5, 1.0]) as client:
        yield client


@pytest.fixture
def control(sandbox_url: str) -> SandboxControl:
    control = SandboxControl(sandbox_url)
    control.clear()
    return control


async def connect(api: httpx.AsyncClient, control: SandboxControl, client_id: str, platform: str, account: str) -> dict:
    grant = control.grant(platform)
    response = await api.post(
        f"/api/v1/clients/{client_id}/connections",
        json={"platform": platform, "account_id": account, "method": "token", **grant},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def backfill(api: httpx.AsyncClient, client_id: str, days: int = 30) -> dict:
    response = await api.post(
        f"/api/v1/clients/{client_id}/results/backfills", json={"days": days}, headers=as_user(EXECUTIVE)
    )
    assert response.status_code == 202, response.text
    location = response.headers["Location"]

    async def finished() -> bool:
        state = (await api.get(location, headers=as_user(EXECUTIVE))).json()
        return state["status"] in ("completed", "failed")

    assert await wait_until(finished, within=60)
    return (await api.get(location, headers=as_user(EXECUTIVE))).json()


async def test_a_token_connection_is_tested_stored_encrypted_and_shown_masked(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str
) -> None:
    await seed_client(results_database, "c-conn")
    grant = control.grant("google_ads")
    created = await connect(api, control, "c-conn", "google_ads", "5550001")
    assert created["status"] == "connected" and created["currency"] == "EUR" and created["time_zone"] == "Europe/Berlin"
    assert created["credential_hint"].startswith("••••")
    listed = (await api.get("/api/v1/clients/c-conn/connections", headers=as_user(MANAGER_S1))).json()["items"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert grant["access_token"] not in json.dumps(listed) and grant["refresh_token"] not in json.dumps(listed)
    database = Database(results_database)
    async with database.transaction() as session:
        stored = (await session.scalars(select(Connection).where(Connection.id == created["id"]))).one()
    await database.dispose()
    assert stored.secret and "sbx-" not in stored.secret  # ciphertext only


async def test_bad_credentials_are_refused_with_the_platforms_message(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str
) -> None:
    await seed_client(results_database, "c-bad")
    # A token Meta never issued: its exchange for a long-lived one is refused in Meta's words.
    response = await api.post(
        "/api/v1/clients/c-bad/connections",
        json={"platform": "meta_ads", "account_id": "777", "method": "token", "access_token": "sbx-whatever"},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 422
    assert "Invalid OAuth access token" in response.json()["detail"]
    # A real token that dies before the account is read.
    control.queue("meta_ads", "777", "expired_token")
    response = await api.post(
        "/api/v1/clients/c-bad/connections",
        json={"platform": "meta_ads", "account_id": "777", "method": "token", **control.grant("meta_ads")},
        headers=as_user(EXECUTIVE),
    )
    assert response.status_code == 422
    assert "Session has expired" in response.json()["detail"]
    # A pasted Meta token is exchanged for a long-lived one, whose end is known.
    kept = await api.post(
        "/api/v1/clients/c-bad/connections",
        json={"platform": "meta_ads", "account_id": "778", "method": "token", **control.grant("meta_ads")},
        headers=as_user(EXECUTIVE),
    )
    assert kept.status_code == 201, kept.text
    ends = datetime.fromisoformat(kept.json()["credentials_expire_at"])
    assert timedelta(days=59) < ends - datetime.now(UTC) < timedelta(days=61)
    unsupported = await api.post(
        "/api/v1/clients/c-bad/connections",
        json={"platform": "snapchat_ads", "account_id": "x", "method": "token", "access_token": "t"},
        headers=as_user(EXECUTIVE),
    )
    assert unsupported.status_code == 422 and "not available; supported: meta_ads" in unsupported.json()["detail"]
    extra = await api.post(
        "/api/v1/clients/c-bad/connections",
        json={"platform": "meta_ads", "account_id": "1", "status": "connected"},
        headers=as_user(EXECUTIVE),
    )
    assert extra.status_code in (400, 422)


@pytest.mark.parametrize(
    ("platform", "account"),
    [("meta_ads", "6660002"), ("tiktok_ads", "6660003"), ("shopify", "oauth-shop")],
)
async def test_oauth_code_flow_without_pkce(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str, platform: str, account: str
) -> None:
    await seed_client(results_database, f"c-oauth-{platform}")
    started = await api.post(
        f"/api/v1/clients/c-oauth-{platform}/connections",
        json={"platform": platform, "account_id": account},
        headers=as_user(EXECUTIVE),
    )
    assert started.status_code == 202, started.text
    assert "code_challenge" not in started.json()["authorization_url"]  # no PKCE on these platforms
    consent = httpx.get(started.json()["authorization_url"], follow_redirects=False)
    back = urlparse(consent.headers["Location"])
    assert back.path == f"/api/v1/oauth/{platform}/callback"
    callback = await api.get(f"{back.path}?{back.query}")
    assert callback.status_code == 201, callback.text
    assert callback.json()["platform"] == platform and callback.json()["status"] == "connected"


@pytest.mark.parametrize(("platform", "account"), [("google_ads", "6660001"), ("ga4", "6660004")])
async def test_oauth_code_flow_with_pkce_creates_the_connection_once(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str, platform: str, account: str
) -> None:
    await seed_client(results_database, f"c-oauth-pkce-{platform}")
    started = await api.post(
        f"/api/v1/clients/c-oauth-pkce-{platform}/connections",
        json={"platform": platform, "account_id": account},
        headers=as_user(EXECUTIVE),
    )
    assert started.status_code == 202, started.text
    authorize = started.json()["authorization_url"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    consent = httpx.get(authorize, follow_redirects=False)  # the sandbox approves at once
    assert consent.status_code == 302
    back = urlparse(consent.headers["Location"])
    callback = await api.get(f"{back.path}?{back.query}")  # public: no identity header
    assert callback.status_code == 201, callback.text
    assert callback.json()["auth_kind"] == "oauth" and callback.json()["status"] == "connected"
    replay = await api.get(f"{back.path}?{back.query}")
    assert replay.status_code == 403  # a state works once
    forged = await api.get(f"/api/v1/oauth/{platform}/callback?state=not-a-state-we-issued&code=x")
    assert forged.status_code == 403


async def test_test_connection_reports_expiry_and_delete_removes_it(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str
) -> None:
    await seed_client(results_database, "c-test")
    created = await connect(api, control, "c-test", "meta_ads", "8880001")
    control.queue("meta_ads", "8880001", "expired_token")
    tested = await api.post(f"/api/v1/clients/c-test/connections/{created['id']}/test", headers=as_user(EXECUTIVE))
    assert tested.status_code == 200
    assert tested.json()["status"] == "expired" and "Session has expired" in tested.json()["status_message"]
    gone = await api.delete(f"/api/v1/clients/c-test/connections/{created['id']}", headers=as_user(EXECUTIVE))
    assert gone.status_code == 204
    assert (await api.get("/api/v1/clients/c-test/connections", headers=as_user(EXECUTIVE))).json()["items"] == []


async def test_access_other_squads_get_404_and_employees_403(api: httpx.AsyncClient, results_database: str) -> None:
    await seed_client(results_database, "c-access")
    for path in ("/connections", "/results/metrics?period=week", "/results/campaigns?start=2026-01-01&end=2026-01-31"):
        assert (await api.get(f"/api/v1/clients/c-access{path}", headers=as_user(MANAGER_S2))).status_code == 404
        assert (await api.get(f"/api/v1/clients/c-access{path}", headers=as_user(EMPLOYEE))).status_code == 403
    assert (
        await api.post("/api/v1/clients/c-access/results/backfills", json={"days": 30}, headers=as_user(MANAGER_S2))
    ).status_code == 404


async def test_backfill_days_other_than_30_60_90_are_refused(api: httpx.AsyncClient, results_database: str) -> None:
    await seed_client(results_database, "c-days")
    for days in (7, 45, 120, "30"):
        response = await api.post(
            "/api/v1/clients/c-days/results/backfills", json={"days": days}, headers=as_user(EXECUTIVE)
        )
        assert response.status_code == 422, days
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_backfill_fills_every_connection_and_publishes_completed(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str, nats_url: str
) -> None:
    await seed_client(results_database, "c-fill")
    for platform, account in (("meta_ads", "9100"), ("google_ads", "9200"), ("tiktok_ads", "9300")):
        control.configure(platform, account, campaigns=4)
        await connect(api, control, "c-fill", platform, account)
    control.queue("tiktok_ads", "9300", "throttle", "server_error")
    done = await backfill(api, "c-fill", 30)
    assert done["status"] == "completed", done
    # 4 delivering campaigns × 30 days × 3 platforms.
    assert done["rows_written"] == 4 * 30 * 3
    assert done["slices_done"] == done["slices_total"] == 5 + 1 + 1  # Meta 7-day slices, one each for the others
    events = await _events(nats_url, "results.v1.backfill.completed", "c-fill")
    assert [e["data"]["backfill_id"] for e in events] == [done["id"]]
    again = await backfill(api, "c-fill", 30)
    totals = await _totals(results_database, "c-fill")
    assert again["status"] == "completed" and totals["rows"] == 4 * 30 * 3  # re-running adds nothing twice


async def test_one_active_backfill_per_client_is_enforced_by_the_database(
    api: httpx.AsyncClient, results_database: str
) -> None:
    await seed_client(results_database, "c-once")
    database = Database(results_database)
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO backfills (id, client_id, days, status, window_start, window_end, slices_total, "
                "slices_done, rows_written, requested_by, created_at) VALUES ('bf-running', 'c-once', 30, 'running', "
                "'2026-01-01', '2026-01-30', 3, 1, 0, 'u-exec', now())"
            )
        )
    await database.dispose()
    response = await api.post("/api/v1/clients/c-once/results/backfills", json={"days": 60}, headers=as_user(EXECUTIVE))
    assert response.status_code == 409
    assert response.json()["active_backfill"]["id"] == "bf-running"
    assert response.json()["active_backfill"]["location"].endswith("/results/backfills/bf-running")


async def test_campaign_table_and_metrics_after_a_backfill(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str
) -> None:
    await seed_client(results_database, "c-table")
    control.configure("meta_ads", "9400", campaigns=3)
    await connect(api, control, "c-table", "meta_ads", "9400")
    done = await backfill(api, "c-table", 30)
    start, end = done["window_start"], done["window_end"]
    table = (
        await api.get(
            f"/api/v1/clients/c-table/results/campaigns?start={start}&end={end}&sort=spend&order=desc",
            headers=as_user(EXECUTIVE),
        )
    ).json()
    rows = table["items"]
    assert len(rows) == 3
    assert [r["spend_minor"] for r in rows] == sorted((r["spend_minor"] for r in rows), reverse=True)
    first = rows[0]
    assert len(first["spend_series"]) == 30 and sum(first["spend_series"]) == first["spend_minor"]
    assert first["status"] == "ACTIVE" and first["creative_title"]
    # The backfill fetched the last week's reach: campaign 2 of 3 reaches the same people (sandbox data).
    assert [r["fatigued"] for r in sorted(rows, key=lambda r: r["campaign_id"])] == [False, True, False]
    assert float(first["roas"]) == pytest.approx(first["revenue_minor"] / first["spend_minor"])
    by_name = (
        await api.get(
            f"/api/v1/clients/c-table/results/campaigns?start={start}&end={end}&sort=campaign_name&order=asc",
            headers=as_user(EXECUTIVE),
        )
    ).json()["items"]
    assert [r["campaign_name"] for r in by_name] == sorted(r["campaign_name"] for r in rows)
    bad = await api.get(
        f"/api/v1/clients/c-table/results/campaigns?start={end}&end={start}", headers=as_user(EXECUTIVE)
    )
    assert bad.status_code == 422
    metrics = (
        await api.get(f"/api/v1/clients/c-table/results/metrics?start={start}&end={end}", headers=as_user(EXECUTIVE))
    ).json()
    spend = next(m for m in metric_lines(metrics) if m["metric"] == "spend_minor")
    assert int(spend["current"]) == sum(r["spend_minor"] for r in rows)
    assert (
        spend["previous"] == "0"
        and spend["delta"]["relative"] is None
        and spend["delta"]["absolute"] == spend["current"]
    )
    assert any(m["metric"] == "roas" for m in metric_lines(metrics))
    cpa = next(m for m in metric_lines(metrics) if m["metric"] == "cpa_minor")
    conversions = next(m for m in metric_lines(metrics) if m["metric"] == "conversions")
    assert Decimal(cpa["current"]) == Decimal(spend["current"]) / Decimal(conversions["current"])


async def _totals(database_url: str, client_id: str) -> dict[str, int]:
    from clientpulse.results_ingest.db.repositories.campaign_days import CampaignDayRepository

    database = Database(database_url)
    async with database.transaction() as session:
        totals = await CampaignDayRepository(session).campaign_totals(client_id)
    await database.dispose()
    return totals


async def _events(nats_url: str, subject: str, client_id: str) -> list[dict]:
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        sub = await js.pull_subscribe(subject, durable=None)
        found: list[dict] = []
        for _ in range(5):
            try:
                for message in await sub.fetch(50, timeout=1.0):
                    body = json.loads(message.data)
                    if body["subject"] == client_id:
                        found.append(body)
            except TimeoutError:
                break
        return found
    finally:
        await connection.close()


async def test_bad_input_gets_a_4xx_problem_never_a_500(api: httpx.AsyncClient, results_database: str) -> None:
    await seed_client(results_database, "c-bad-input")
    base = "/api/v1/clients/c-bad-input"
    bad = [
        ("GET", f"{base}/results/metrics?period=decade", None),
        ("GET", f"{base}/results/metrics?start=2026-01-01", None),
        ("GET", f"{base}/results/metrics?period=week&start=2026-01-01&end=2026-01-02", None),
        ("GET", f"{base}/results/campaigns?start=yesterday&end=2026-01-02", None),
        ("GET", f"{base}/results/campaigns?start=2020-01-01&end=2026-01-02", None),
        ("GET", f"{base}/results/campaigns?start=2026-01-01&end=2026-01-02&sort=bogus", None),
        ("GET", f"{base}/results/backfills/unknown", None),
        ("POST", f"{base}/results/backfills", {"days": 30, "platforms": ["meta_ads"]}),
        ("POST", f"{base}/connections", {"platform": "meta_ads", "account_id": "../etc", "method": "token"}),
        ("POST", f"{base}/connections", {"platform": "meta_ads", "account_id": "1", "method": "token"}),
        ("POST", f"{base}/connections", {"platform": "meta_ads", "account_id": "1", "access_token": "t"}),
        ("DELETE", f"{base}/connections/unknown", None),
        ("POST", f"{base}/connections/unknown/test", None),
        ("GET", "/api/v1/oauth/bogus/callback?state=abcdefghij&code=x", None),
        ("GET", "/api/v1/oauth/meta_ads/callback?state=abcdefghij", None),
        ("GET", "/api/v1/oauth/meta_ads/callback?state=abcdefghij&error=access_denied", None),
    ]
    for method, path, body in bad:
        response = await api.request(method, path, json=body, headers=as_user(EXECUTIVE))
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), (path, response.text)


async def test_a_linked_goal_shows_its_status_beside_its_metric(
    api: httpx.AsyncClient, control: SandboxControl, results_database: str, nats_url: str
) -> None:
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from clientpulse.shared.contracts import wrap
    from clientpulse.shared.contracts.events import GoalChanged
    from clientpulse.shared.messaging.direct import publish_envelopes

    await seed_client(results_database, "c-goal")
    control.configure("meta_ads", "9500", campaigns=2)
    await connect(api, control, "c-goal", "meta_ads", "9500")
    done = await backfill(api, "c-goal", 30)
    start, end = date.fromisoformat(done["window_start"]), date.fromisoformat(done["window_end"])

    def goal(goal_id: str, target: str, *, closed: bool = False, at: datetime | None = None) -> object:
        return wrap(
            GoalChanged(client_id="c-goal", goal_id=goal_id, name=f"Goal {goal_id}", kind="level",
                        direction="lower", target=Decimal(target), period_start=start, period_end=end,
                        metric="cpa_minor", closed=closed, changed_by="u-exec"),
            source="clients", time=at or datetime.now(UTC),
        )  # fmt: skip

    generous, strict, late_closed = goal("g-1", "1000000000"), goal("g-2", "1"), None
    # A closing event that happened *before* g-2's current state arrives late: it must not close it.
    late_closed = goal("g-2", "1", closed=True, at=datetime.now(UTC) - timedelta(hours=1))
    await publish_envelopes(nats_url, [generous, strict, late_closed])

    async def both_goals() -> list[dict]:
        body = (
            await api.get(f"/api/v1/clients/c-goal/results/metrics?start={start}&end={end}", headers=as_user(EXECUTIVE))
        ).json()
        cpa = [m for m in metric_lines(body) if m["metric"] == "cpa_minor"]
        return cpa[0]["goals"] if cpa and len(cpa[0]["goals"]) == 2 else []

    assert await wait_until(lambda: _truthy(both_goals), within=15)
    goals_now = await both_goals()
    statuses = {g["goal_id"]: g["status"] for g in goals_now}
    assert statuses == {"g-1": "On Track", "g-2": "Off Track"}


async def _truthy(check) -> bool:
    return bool(await check())
