"""The weekly analysis through the real parts: results backfilled from the platform sandbox, the
``analyze-week`` command (what the weekly CronJob runs) publishing its request to NATS, the insights
service reading the campaign table from results-ingest over HTTP, and the analysis read through the
gateway with its role matrix."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from harness import System, eventually

from clientpulse.shared.identity import Role

pytestmark = pytest.mark.e2e

EXEC = (Role.EXECUTIVE, "u-exec", None)
OWN_MANAGER = (Role.MANAGER, "u-530", "s-53")
OTHER_MANAGER = (Role.MANAGER, "u-540", "s-54")
LEAD = (Role.LEAD, "u-lead", "s-53")


def last_complete_week(today: date) -> str:
    monday = today - timedelta(days=today.weekday() + 7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def analyze_week(system: System) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clientpulse.insights.cli", "analyze-week", "--requested-by", "e2e"],
        env={**os.environ, "CLIENTPULSE_NATS_URL": system.nats_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def client_id(system: System) -> str:
    """An Active client of squad s-53 with a TikTok account backfilled for 30 days."""
    sandbox = system.stack.sandbox_url
    httpx.post(f"{sandbox}/_sandbox/accounts", json={"platform": "tiktok_ads", "account_id": "53001", "campaigns": 5})
    grant = httpx.post(f"{sandbox}/_sandbox/grants/tiktok_ads").json()
    with system.api(*EXEC) as executive:
        company = executive.post("/api/v1/companies", json={"name": "Insights Flow Ltd"}).json()
        converted = executive.post(
            f"/api/v1/companies/{company['id']}/convert",
            json={"dm_id": "u-530", "squad_id": "s-53", "status": "Active"},
        )
        assert converted.status_code == 201, converted.text
        client = str(company["id"])
        assert eventually(lambda: executive.get(f"/api/v1/clients/{client}/connections").status_code == 200)
        created = executive.post(
            f"/api/v1/clients/{client}/connections",
            json={"platform": "tiktok_ads", "account_id": "53001", "method": "token", **grant},
        )
        assert created.status_code == 201, created.text
        started = executive.post(f"/api/v1/clients/{client}/results/backfills", json={"days": 30})
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        done = eventually(
            lambda: (r := executive.get(location).json())["status"] in ("completed", "failed") and r, timeout=60
        )
        assert done and done["status"] == "completed", done
    return client


def test_the_weekly_command_analyses_an_active_client_with_results_once(system: System, client_id: str) -> None:
    week = last_complete_week(datetime.now(UTC).date())
    first = analyze_week(system)
    assert first.returncode == 0, first.stderr
    with system.api(*OWN_MANAGER) as dm:
        analysis = eventually(
            lambda: (r := dm.get(f"/api/v1/clients/{client_id}/insights/analysis")).status_code == 200 and r.json(),
            timeout=60,
        )
        assert analysis, dm.get(f"/api/v1/clients/{client_id}/insights/analysis").text
        assert analysis["week"] == week and analysis["client_id"] == client_id
        assert 0 <= analysis["health_score"] <= 100
        assert analysis["status"] in ("good", "warning", "critical")
        assert analysis["generated_by"] == "deterministic"  # no model is configured in the embedded mode
        body = analysis["body"]
        assert 2 <= len(body["quick_wins"]) <= 3
        assert {p["campaign_id"] for p in body["top_performers"] + body["under_performers"]}
        by_week = dm.get(f"/api/v1/clients/{client_id}/insights/analysis", params={"week": week})
        assert by_week.status_code == 200 and by_week.json()["id"] == analysis["id"]
        malformed = dm.get(f"/api/v1/clients/{client_id}/insights/analysis", params={"week": "2026-48"})
        assert malformed.status_code == 422
        assert malformed.headers["content-type"].startswith("application/problem+json")

    # The CronJob runs again (a retried Job): the same request, nothing new.
    again = analyze_week(system)
    assert again.returncode == 0, again.stderr
    assert "already requested" in again.stderr
    with system.api(*OWN_MANAGER) as dm:
        assert dm.get(f"/api/v1/clients/{client_id}/insights/analysis").json()["id"] == analysis["id"]


def test_other_squads_get_404_and_leads_403_on_the_analysis(system: System, client_id: str) -> None:
    with system.api(*OTHER_MANAGER) as other, system.api(*LEAD) as lead:
        assert other.get(f"/api/v1/clients/{client_id}/insights/analysis").status_code == 404
        assert lead.get(f"/api/v1/clients/{client_id}/insights/analysis").status_code == 403
