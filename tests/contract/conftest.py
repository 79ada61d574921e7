"""The whole system as tests/e2e starts it, seeded with the demo data, for schemathesis to call.

The running system is tests/e2e's own ``system`` fixture, loaded from its conftest rather than copied.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from clientpulse.shared.demo import DEMO_USERS, seed
from clientpulse.shared.identity import Role

_E2E_CONFTEST = Path(__file__).parents[1] / "e2e" / "conftest.py"
_spec = importlib.util.spec_from_file_location("clientpulse_e2e_system", _E2E_CONFTEST)
assert _spec is not None and _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

system = _e2e.system

from harness import eventually  # noqa: E402 - importable once the e2e conftest has put its folder on the path

# The client every role's ids point at: Active, in squad s-1 with the demo Manager (u-42) as its DM.
DEMO_CLIENT = "Northwind Outfitters"


def demo_user(role: Role) -> tuple[str, str | None]:
    """The demo user (sub, squad) who holds ``role``."""
    return next((sub, squad) for user_role, sub, squad in DEMO_USERS if user_role is role)


def _first_id(api: httpx.Client, path: str) -> str | None:
    items = api.get(path).raise_for_status().json()["items"]
    return str(items[0]["id"]) if items else None


def _created_id(response: httpx.Response) -> str:
    return str(response.raise_for_status().json()["id"])


@pytest.fixture(scope="session")
def demo_ids(system: Any) -> dict[str, str]:
    """Real ids for the path parameters: the demo data, plus one QBR, goal, note and webhook made here."""
    executive_sub, executive_squad = demo_user(Role.EXECUTIVE)
    token = system.token(Role.EXECUTIVE, executive_sub, executive_squad)
    summary = asyncio.run(seed(system.gateway_url, system.nats_url, system.stack.sandbox_url, token=token))
    client_id = summary["company_ids"][DEMO_CLIENT]
    ids = {
        "client_id": client_id,
        "company_id": client_id,
        "backfill_id": summary["backfill_ids"][DEMO_CLIENT],
        "platform": "meta_ads",
    }
    with system.api(Role.EXECUTIVE, executive_sub, executive_squad) as api:
        clients = f"/api/v1/clients/{client_id}"
        ids["qbr_id"] = _created_id(
            api.post(f"{clients}/qbrs", json={"held_on": "2026-10-01", "summary": "Quarter review"})
        )
        goal = {"name": "Revenue", "target": "1000", "period_start": "2026-01-01", "period_end": "2026-12-31"}
        ids["goal_id"] = _created_id(api.post(f"{clients}/goals", json=goal))
        ids["note_id"] = _created_id(api.post(f"{clients}/notes", json={"body": "Kick-off went well"}))
        # An address literal: a host name would need DNS, which the test machine may not have.
        webhook = {"url": "https://1.1.1.1/clientpulse-contract", "event_types": ["QbrOverdue"]}
        ids["webhook_id"] = _created_id(api.post("/api/v1/webhooks", json=webhook))
        connection = _first_id(api, f"{clients}/connections")
        if connection:
            ids["connection_id"] = connection
        # The won deal's conversion prompt arrives over NATS.
        prompt = eventually(lambda: _first_id(api, "/api/v1/conversion-prompts"), timeout=30)
        if prompt:
            ids["prompt_id"] = prompt
    return ids


# Cases sent per role, and how many of them used a method the document does not declare on the path.
CASES: Counter[str] = Counter()
UNDECLARED_METHOD_CASES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many cases schemathesis sent, per role."""
    if not CASES:
        return
    terminalreporter.section("API contract cases")
    for role, count in CASES.items():
        terminalreporter.write_line(
            f"{role}: {count} cases ({UNDECLARED_METHOD_CASES[role]} with an undeclared method)"
        )
    terminalreporter.write_line(f"total: {sum(CASES.values())} cases")
