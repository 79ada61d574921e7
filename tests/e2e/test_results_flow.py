"""Results ingest through the gateway against the platform sandbox: connect an ad account (token and
OAuth with the public callback), backfill 30 days, read the campaign table and metrics, and the role
matrix on the results routes."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
import pytest
from harness import System, eventually

from clientpulse.shared.identity import Role

pytestmark = pytest.mark.e2e

EXEC = (Role.EXECUTIVE, "u-exec", None)
OWN_MANAGER = (Role.MANAGER, "u-510", "s-51")
OTHER_MANAGER = (Role.MANAGER, "u-520", "s-52")
LEAD = (Role.LEAD, "u-lead", "s-51")


def metric_lines(body: dict) -> list[dict]:
    """Every metric line of a ``/results/metrics`` answer, whatever its category."""
    return [line for category in body["categories"] for line in category["metrics"]]


@pytest.fixture(scope="module")
def sandbox(system: System) -> str:
    """The platform sandbox the stack started, which results-ingest is pointed at."""
    return system.stack.sandbox_url


@pytest.fixture(scope="module")
def client_id(system: System, sandbox: str) -> str:
    """A client of squad s-51, known to the results service's replica."""
    with system.api(*EXEC) as executive:
        company = executive.post("/api/v1/companies", json={"name": "Results Flow Ltd"}).json()
        converted = executive.post(
            f"/api/v1/companies/{company['id']}/convert", json={"dm_id": "u-510", "squad_id": "s-51"}
        )
        assert converted.status_code == 201, converted.text
        assert eventually(lambda: executive.get(f"/api/v1/clients/{company['id']}/connections").status_code == 200)
    return str(company["id"])


def test_connect_backfill_and_read_the_campaign_table(system: System, sandbox: str, client_id: str) -> None:
    httpx.post(f"{sandbox}/_sandbox/accounts", json={"platform": "tiktok_ads", "account_id": "51001", "campaigns": 4})
    grant = httpx.post(f"{sandbox}/_sandbox/grants/tiktok_ads").json()
    with system.api(*OWN_MANAGER) as dm:
        created = dm.post(
            f"/api/v1/clients/{client_id}/connections",
            json={"platform": "tiktok_ads", "account_id": "51001", "method": "token", **grant},
        )
        assert created.status_code == 201, created.text
        assert grant["access_token"] not in created.text
        started = dm.post(f"/api/v1/clients/{client_id}/results/backfills", json={"days": 30})
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        assert dm.post(f"/api/v1/clients/{client_id}/results/backfills", json={"days": 30}).status_code in (202, 409)
        with dm.invalid_request():  # the document offers 30, 60 or 90 days
            assert dm.post(f"/api/v1/clients/{client_id}/results/backfills", json={"days": 31}).status_code == 422
        done = eventually(lambda: (r := dm.get(location).json())["status"] in ("completed", "failed") and r, timeout=60)
        assert done and done["status"] == "completed", done
        assert done["rows_written"] == 4 * 30
        table = dm.get(
            f"/api/v1/clients/{client_id}/results/campaigns",
            params={"start": done["window_start"], "end": done["window_end"], "sort": "roas"},
        ).json()
        assert len(table.get("items", [])) == 4, table
        assert all(len(row["spend_series"]) == 30 and row["status"] == "ACTIVE" for row in table["items"])
        roas = [float(r["roas"]) for r in table["items"]]
        assert roas == sorted(roas, reverse=True)
        metrics = dm.get(
            f"/api/v1/clients/{client_id}/results/metrics",
            params={"start": done["window_start"], "end": done["window_end"]},
        ).json()
        spend = next(m for m in metric_lines(metrics) if m["metric"] == "spend_minor")
        assert int(spend["current"]) == sum(r["spend_minor"] for r in table["items"])


def test_oauth_callback_is_public_and_the_state_is_the_only_authority(system: System, client_id: str) -> None:
    with system.api(*EXEC) as executive:
        started = executive.post(
            f"/api/v1/clients/{client_id}/connections", json={"platform": "google_ads", "account_id": "52002"}
        )
    assert started.status_code == 202, started.text
    consent = httpx.get(started.json()["authorization_url"], follow_redirects=False)
    back = urlparse(consent.headers["Location"])
    with system.anonymous() as anonymous:
        finished = anonymous.get(f"{back.path}?{back.query}")
        assert finished.status_code == 201, finished.text
        assert anonymous.get(f"{back.path}?{back.query}").status_code == 403
    with system.api(*EXEC) as executive:
        platforms = {c["platform"] for c in executive.get(f"/api/v1/clients/{client_id}/connections").json()["items"]}
    assert "google_ads" in platforms


def test_other_squads_get_404_and_leads_403_on_results_routes(system: System, client_id: str) -> None:
    paths = ["/connections", "/results/metrics?period=month", "/results/campaigns?start=2026-01-01&end=2026-01-31"]
    with system.api(*OTHER_MANAGER) as other, system.api(*LEAD) as lead:
        for path in paths:
            assert other.get(f"/api/v1/clients/{client_id}{path}").status_code == 404
            assert lead.get(f"/api/v1/clients/{client_id}{path}").status_code == 403


def test_a_90_day_backfill_waits_out_a_stated_meta_throttle_and_shows_reach(
    system: System, sandbox: str, client_id: str
) -> None:
    """Meta says "come back in a minute" part-way through: the backfill waits and completes, the
    connection stays connected meanwhile, and the campaign table of the last 30 days has reach."""
    for platform, account, campaigns in (("meta_ads", "51002", 3), ("tiktok_ads", "51003", 2)):
        httpx.post(
            f"{sandbox}/_sandbox/accounts",
            json={"platform": platform, "account_id": account, "campaigns": campaigns, "time_zone": "UTC"},
        ).raise_for_status()
    ours: dict[str, str] = {}
    with system.api(*OWN_MANAGER) as dm:
        for platform, account in (("meta_ads", "51002"), ("tiktok_ads", "51003")):
            grant = httpx.post(f"{sandbox}/_sandbox/grants/{platform}").json()
            created = dm.post(
                f"/api/v1/clients/{client_id}/connections",
                json={"platform": platform, "account_id": account, "method": "token", **grant},
            )
            assert created.status_code == 201, created.text
            ours[created.json()["id"]] = platform
        # The 9th Meta request is refused with "wait 1 minute"; Meta keeps refusing until it has passed.
        httpx.post(
            f"{sandbox}/_sandbox/faults",
            json={"platform": "meta_ads", "account_id": "51002", "faults": [*["none"] * 8, "throttle_wait:1"]},
        ).raise_for_status()
        started = eventually(
            lambda: (
                (r := dm.post(f"/api/v1/clients/{client_id}/results/backfills", json={"days": 90})).status_code == 202
                and r
            ),
            timeout=60,
        )
        assert started, "an earlier backfill of the client never finished"
        location = started.headers["Location"]
        seen: dict[str, object] = {}

        def finished() -> object:
            state = dm.get(location).json()
            for connection in dm.get(f"/api/v1/clients/{client_id}/connections").json()["items"]:
                if connection["throttled_until"]:
                    seen["connection"] = connection
            if state["waiting_until"]:
                seen["waiting_until"] = state["waiting_until"]
            return state["status"] in ("completed", "failed") and state

        done = eventually(finished, timeout=240, interval=0.5)
        assert done and done["status"] == "completed", done
        assert seen.get("waiting_until"), "the backfill never said it was waiting for Meta"
        throttled = seen["connection"]
        assert isinstance(throttled, dict) and throttled["status"] == "connected"
        assert throttled["platform"] == "meta_ads"
        table = dm.get(
            f"/api/v1/clients/{client_id}/results/campaigns",
            params={"start": _days_before(done["window_end"], 29), "end": done["window_end"]},
        ).json()
    rows = [r for r in table["items"] if r["connection_id"] in ours]
    assert {r["platform"] for r in rows} == {"meta_ads", "tiktok_ads"}
    for row in rows:
        assert row["reach"] and row["frequency"] and row["reach_note"] is None, row
        assert abs(float(row["frequency"]) - row["impressions"] / row["reach"]) < 1e-6


def _days_before(day: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def test_a_90_day_backfill_over_all_nine_platforms_through_the_gateway(system: System, sandbox: str) -> None:
    """The demo's all-platform client, connected again through the gateway: every platform's part is
    stored and every category of the unified view shows numbers with its unit and currency."""
    from clientpulse.shared.demo import DEMO_CONNECTIONS

    accounts = [
        (platform, account, options)
        for company, platform, account, options in DEMO_CONNECTIONS
        if company == "Northwind Outfitters"
    ]
    assert len({platform for platform, *_ in accounts}) == 9
    with system.api(*EXEC) as executive:
        company = executive.post("/api/v1/companies", json={"name": "Nine Platforms Ltd"}).json()
        executive.post(f"/api/v1/companies/{company['id']}/convert", json={"dm_id": "u-510", "squad_id": "s-51"})
        client = company["id"]
        assert eventually(lambda: executive.get(f"/api/v1/clients/{client}/connections").status_code == 200)
        for platform, account, options in accounts:
            grant = httpx.post(f"{sandbox}/_sandbox/grants/{platform}").json()
            body = {"platform": platform, "account_id": account, "method": "token", "options": options, **grant}
            created = executive.post(f"/api/v1/clients/{client}/connections", json=body)
            assert created.status_code == 201, created.text
        started = executive.post(f"/api/v1/clients/{client}/results/backfills", json={"days": 90})
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        assert eventually(lambda: executive.get(location).json()["status"] not in ("queued", "running"), timeout=120)
        done = executive.get(location).json()
        assert done["status"] == "completed", done
        assert {p["platform"] for p in done["parts"] if p["status"] == "done"} == {p for p, *_ in accounts}
        metrics = executive.get(
            f"/api/v1/clients/{client}/results/metrics",
            params={"start": done["window_start"], "end": done["window_end"]},
        ).json()
    categories = {c["category"]: c["metrics"] for c in metrics["categories"]}
    expected = {
        "revenue",
        "orders",
        "advertising",
        "email",
        "traffic",
        "support",
        "loyalty",
        "subscriptions",
        "blended",
    }
    assert set(categories) == expected, sorted(categories)
    lines = {line["metric"]: line for line in metric_lines(metrics)}
    assert lines["net_sales_minor"]["unit"] == "money_minor" and lines["net_sales_minor"]["currency"]
    assert lines["active_subscriptions"]["aggregation"] == "level"
    assert lines["loyalty_members"]["aggregation"] == "level"
    assert lines["total_users"]["aggregation"] == "window_unique"  # the last 90 days: a stored window
    assert lines["total_users"]["current"] is not None
    assert lines["mer"]["aggregation"] == "ratio"
