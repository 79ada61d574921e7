"""Demo data for the embedded mode: companies, clients, a won deal and a year of invoices.

It goes in through the front doors, as a user and the billing system would: the gateway's API
with an Executive token, and InvoicePosted / DealWon events on NATS.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from clientpulse.shared.contracts import Envelope, derived_event_id, wrap
from clientpulse.shared.contracts.events import DealWon, InvoicePosted
from clientpulse.shared.identity import Role
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.tokens import JwtSettings, mint_token

# (company, industry, client status or None, DM, squad, monthly invoice in EUR)
DEMO_COMPANIES: tuple[tuple[str, str, str | None, str | None, str | None, int], ...] = (
    ("Northwind Outfitters", "Apparel", "Active", "u-42", "s-1", 32_000),
    ("Bluebird Botanicals", "Beauty", "Active", "u-42", "s-1", 9_000),
    ("Copperleaf Coffee", "Food & Drink", "Active", "u-43", "s-2", 14_500),
    ("Driftwood Denim", "Apparel", "Prospect", "u-43", "s-2", 0),
    ("Evergreen Pet Co", "Pets", "Dormant", "u-44", "s-1", 2_200),
    ("Fable & Fern", "Home", "Prospect", None, "s-3", 0),
    ("Granite Gear Supply", "Outdoor", None, None, None, 0),
    ("Harbor Light Candles", "Home", None, None, None, 0),
)

DEMO_USERS: tuple[tuple[Role, str, str | None], ...] = (
    (Role.EXECUTIVE, "u-exec", None),
    (Role.HEAD, "u-head", "s-1"),
    (Role.MANAGER, "u-42", "s-1"),
    (Role.LEAD, "u-lead", "s-1"),
    (Role.EMPLOYEE, "u-emp", "s-1"),
)


# Who the demo organisation's Heads and Executives are: the notifications service is told by
# configuration (no event carries an org chart).
DEMO_SETTINGS: dict[str, str] = {
    "CLIENTPULSE_NOTIFICATIONS_SQUAD_HEADS": json.dumps({"s-1": ["u-head"], "s-2": ["u-head"], "s-3": ["u-head"]}),
    "CLIENTPULSE_NOTIFICATIONS_HEADS": json.dumps(["u-head"]),
    "CLIENTPULSE_NOTIFICATIONS_EXECUTIVES": json.dumps(["u-exec"]),
    # The demo's dated rates into the base currency (EUR): the demo's stores and ad accounts bill in
    # dollars and euros, and amounts of different currencies are only added at a dated rate.
    "CLIENTPULSE_EXCHANGE_RATES": json.dumps(
        [
            {"currency": "USD", "valid_from": "2020-01-01", "rate": "0.92"},
            {"currency": "GBP", "valid_from": "2020-01-01", "rate": "1.17"},
            {"currency": "CAD", "valid_from": "2020-01-01", "rate": "0.68"},
            {"currency": "AUD", "valid_from": "2020-01-01", "rate": "0.61"},
        ]
    ),
}


def dev_tokens(settings: JwtSettings | None = None) -> dict[Role, str]:
    """A development token per demo user."""
    jwt = settings or JwtSettings()
    return {role: mint_token(jwt, sub=sub, role=role, squad=squad, name=sub) for role, sub, squad in DEMO_USERS}


def _months_back(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    days: list[date] = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        days.append(first)
    return days


# Demo accounts in the platform sandbox: (company, platform, account id, connection options).
# Northwind runs on all nine platforms; Bluebird's Google Ads account is a client of the agency's
# manager account, reached through it.
YOTPO_DEMO_GUID = "7f3a9c2e-1b4d-4e8f-9a6b-2c5d8e1f0a37"
DEMO_CONNECTIONS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("Northwind Outfitters", "meta_ads", "1001001", {}),
    ("Northwind Outfitters", "tiktok_ads", "7001001", {}),
    ("Northwind Outfitters", "google_ads", "3003003003", {}),
    ("Northwind Outfitters", "shopify", "demo-store", {}),
    ("Northwind Outfitters", "klaviyo", "KSBX01", {}),
    ("Northwind Outfitters", "ga4", "314159265", {}),
    ("Northwind Outfitters", "gorgias", "demo-store", {"email": "ops@example.com"}),
    ("Northwind Outfitters", "recharge", "copperleaf-coffee", {}),
    ("Northwind Outfitters", "yotpo_loyalty", YOTPO_DEMO_GUID, {"currency": "USD", "time_zone": "America/New_York"}),
    ("Bluebird Botanicals", "google_ads", "2002002002", {"login_customer_id": "9000000001"}),
    ("Bluebird Botanicals", "shopify", "bluebird-botanicals", {}),
    ("Bluebird Botanicals", "klaviyo", "KSBX01", {}),
    ("Bluebird Botanicals", "ga4", "314159265", {}),
    ("Copperleaf Coffee", "meta_ads", "1003003", {}),
    ("Copperleaf Coffee", "recharge", "copperleaf-coffee", {}),
    ("Copperleaf Coffee", "yotpo_loyalty", YOTPO_DEMO_GUID, {"currency": "USD", "time_zone": "America/New_York"}),
)


async def _once_known(api: httpx.AsyncClient, path: str, body: dict[str, Any], *, within: float = 60.0) -> None:
    """POST once the results service knows the client: a new client reaches its replica through an
    event, so a 404 right after the conversion means "not yet" (asked again for up to ``within`` s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await api.post(path, json=body)
        if response.status_code != 404 or asyncio.get_running_loop().time() > deadline:
            response.raise_for_status()
            return
        await asyncio.sleep(0.25)


async def _connect_demo_accounts(api: httpx.AsyncClient, sandbox_url: str, created: dict[str, str]) -> dict[str, str]:
    """Connect the demo ad accounts (tokens granted by the sandbox) and backfill 30 days for each client.

    Returns each backfilled company's backfill id.
    """
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as sandbox:
        for company, platform, account_id, options in DEMO_CONNECTIONS:
            grant = (await sandbox.post(f"/_sandbox/grants/{platform}")).raise_for_status().json()
            body = {"platform": platform, "account_id": account_id, "method": "token", "options": options, **grant}
            await _once_known(api, f"/api/v1/clients/{created[company]}/connections", body)
    backfills: dict[str, str] = {}
    for company in dict.fromkeys(company for company, *_ in DEMO_CONNECTIONS):
        response = await api.post(f"/api/v1/clients/{created[company]}/results/backfills", json={"days": 30})
        backfills[company] = response.raise_for_status().json()["id"]
    return backfills


async def seed(
    gateway_url: str, nats_url: str, sandbox_url: str | None = None, *, token: str | None = None
) -> dict[str, Any]:
    """Create the demo data through the gateway and NATS, as ``token``'s Executive (the development
    token by default); returns what was made."""
    token = token or dev_tokens()[Role.EXECUTIVE]
    created: dict[str, str] = {}
    events: list[Envelope[Any]] = []
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
        for name, industry, status, dm, squad, monthly in DEMO_COMPANIES:
            response = await api.post("/api/v1/companies", json={"name": name, "industry": industry})
            response.raise_for_status()
            company_id = response.json()["id"]
            created[name] = company_id
            if status is not None:
                body = {"status": status, "dm_id": dm, "squad_id": squad}
                (await api.post(f"/api/v1/companies/{company_id}/convert", json=body)).raise_for_status()
            for month in _months_back(today, 12) if monthly else []:
                invoice_id = f"demo-{company_id[-8:]}-{month:%Y%m}"
                events.append(
                    wrap(
                        InvoicePosted(
                            invoice_id=invoice_id,
                            client_id=company_id,
                            number=f"INV-{month:%Y%m}-{company_id[-4:]}",
                            issued_on=month,
                            amount_minor=monthly * 100,
                            currency="EUR",
                        ),
                        source="billing",
                        event_id=derived_event_id(f"invoice:{invoice_id}"),
                    )
                )
        backfills = await _connect_demo_accounts(api, sandbox_url, created) if sandbox_url else {}
    harbor = created["Harbor Light Candles"]
    events.append(
        wrap(
            DealWon(
                deal_id="demo-deal-harbor-light",
                client_id=harbor,
                company_name="Harbor Light Candles",
                deal_name="Harbor Light — retainer",
                owner_id="u-42",
                amount_minor=4_800_000,
                currency="EUR",
                won_at=datetime.now(UTC),
            ),
            source="crm",
        )
    )
    await publish_envelopes(nats_url, events)
    return {
        "companies": len(created),
        "invoices": len(events) - 1,
        "deals": 1,
        "connections": len(DEMO_CONNECTIONS) if sandbox_url else 0,
        "company_ids": created,
        "backfill_ids": backfills,
    }


def run_seed(gateway_url: str, nats_url: str, marker: Path, sandbox_url: str | None = None) -> dict[str, Any]:
    """Load the demo data once: a second run finds the marker file and does nothing."""
    if marker.exists():
        return {"skipped": True, **json.loads(marker.read_text())}
    summary = asyncio.run(seed(gateway_url, nats_url, sandbox_url))
    marker.write_text(json.dumps(summary, indent=2))
    return summary
