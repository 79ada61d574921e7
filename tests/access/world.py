"""The callers of the access matrix and the world they act on: two squads' clients, a group account whose
members sit in both squads, a plain company, conversion prompts, and under the target client a note, a
QBR, a goal, a health score, a tier score, a platform connection, a backfill and a notification.

Managers: ``own`` is in the target client's squad; ``dm`` is the target's assigned DM from another squad;
``other`` is in a third squad and must never learn that the target (or its squad's clients) exist.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from harness import System, eventually, logs
from pydantic import SecretStr

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import DealWon
from clientpulse.shared.identity import Role
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.tokens import JwtSettings, mint_token

TARGET_SQUAD, OTHER_SQUAD, DM_SQUAD = "s-acc-1", "s-acc-2", "s-acc-3"


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a user of a role (and Manager situation), or a caller without a valid token."""

    name: str
    role: Role | None = None
    sub: str = ""
    squad: str | None = None
    token: str = "valid"  # valid, none, expired, forged

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


CALLERS = [
    Caller("executive", Role.EXECUTIVE, "u-acc-exec"),
    Caller("head", Role.HEAD, "u-acc-head"),
    Caller("own_manager", Role.MANAGER, "u-acc-own", TARGET_SQUAD),
    Caller("dm_manager", Role.MANAGER, "u-acc-dm", DM_SQUAD),
    Caller("other_manager", Role.MANAGER, "u-acc-other", OTHER_SQUAD),
    Caller("lead", Role.LEAD, "u-acc-lead", TARGET_SQUAD),
    Caller("employee", Role.EMPLOYEE, "u-acc-employee", TARGET_SQUAD),
    Caller("no_token", token="none"),
    Caller("expired_token", Role.EXECUTIVE, "u-acc-exec", token="expired"),
    Caller("forged_token", Role.EXECUTIVE, "u-acc-exec", token="forged"),
]
BY_NAME = {caller.name: caller for caller in CALLERS}
EXECUTIVE = BY_NAME["executive"]

UNKNOWN_ID = "acc-no-such-thing-0000"


@dataclass
class Named:
    """A client or company of the world: its id and the name a leak would show."""

    id: str
    name: str
    domain: str | None = None


@dataclass
class World:
    """Everything the matrix's cases act on."""

    system: System
    target: Named  # squad TARGET_SQUAD, DM dm_manager, parent of child and stranger
    child: Named  # squad TARGET_SQUAD, another DM
    stranger: Named  # squad OTHER_SQUAD, DM other_manager, a member of the target's group
    plain_company: Named
    target_prompt_id: str
    ids: dict[str, str] = field(default_factory=dict)
    pending_prompts: list[str] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=itertools.count)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def headers(self, caller: Caller) -> dict[str, str]:
        """The Authorization header ``caller`` sends, if any."""
        if caller.token == "none" or caller.role is None:
            return {}
        if caller.token == "expired":
            token = self.system.token(caller.role, caller.sub, caller.squad, ttl=60, now=time.time() - 7200)
        elif caller.token == "forged":
            forger = JwtSettings(secret=SecretStr(secrets.token_urlsafe(32)), issuer=self.system.jwt.issuer)
            token = mint_token(forger, sub=caller.sub, role=caller.role, squad=caller.squad)
        else:
            token = self.system.token(caller.role, caller.sub, caller.squad)
        return {"Authorization": f"Bearer {token}"}

    def http(self, caller: Caller) -> AbstractContextManager[httpx.Client]:
        """The HTTP client of the gateway as ``caller``, kept open for the session (one connection each)."""
        if caller.name not in self._clients:
            self._clients[caller.name] = httpx.Client(
                base_url=self.system.gateway_url, headers=self.headers(caller), timeout=15.0
            )
        return nullcontext(self._clients[caller.name])

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def hidden_from(self, caller: Caller) -> list[Named]:
        """The clients a Manager may not see; nothing they receive may name them."""
        if caller.name == "own_manager":
            return [self.stranger]
        if caller.name == "dm_manager":
            return [self.child, self.stranger]
        if caller.name == "other_manager":
            return [self.target, self.child]
        return []

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._counter)}-{secrets.token_hex(3)}"

    # Fresh targets for the routes that consume theirs (each caller needs its own).

    def fresh_note(self, caller: Caller) -> str:
        """A note on the target, written by ``caller`` when they may write one (authors edit their notes)."""
        author = caller if caller.name in ("executive", "head", "own_manager", "dm_manager") else EXECUTIVE
        with self.http(author) as api:
            response = api.post(f"/api/v1/clients/{self.target.id}/notes", json={"body": "to change"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_company(self) -> str:
        with self.http(EXECUTIVE) as api:
            response = api.post("/api/v1/companies", json={"name": self.unique("Fresh Company")})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_connection(self) -> str:
        return connect_account(self, self.target.id, self.unique("acct"))

    def fresh_webhook(self) -> str:
        with self.http(EXECUTIVE) as api:
            response = api.post(
                "/api/v1/webhooks", json={"url": "https://127.0.0.1:9/acc", "event_types": ["TierChanged"]}
            )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_proposal(self) -> str:
        # The framework as it is (the published version changes no score): publishing it harms no other case.
        with self.http(EXECUTIVE) as api:
            response = api.post(
                "/api/v1/tiering/framework/proposals", json={"revenue_band_floors": [300000, 150000, 75000, 30000]}
            )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def pending_prompt(self) -> str:
        return self.pending_prompts.pop()

    def override_target(self) -> None:
        with self.http(EXECUTIVE) as api:
            response = api.post(
                f"/api/v1/clients/{self.target.id}/tiering/override", json={"tier": "Core", "reason": "to lift"}
            )
        assert response.status_code == 200, response.text


def connect_account(world: World, client_id: str, account_id: str) -> str:
    """A sandbox ad account connected to the client with a token grant; the connection's id."""
    sandbox = world.system.stack.sandbox_url
    account = httpx.post(
        f"{sandbox}/_sandbox/accounts", json={"platform": "tiktok_ads", "account_id": account_id, "campaigns": 2}
    )
    assert account.status_code < 300, account.text
    grant = httpx.post(f"{sandbox}/_sandbox/grants/tiktok_ads").json()
    with world.http(EXECUTIVE) as api:
        created = api.post(
            f"/api/v1/clients/{client_id}/connections",
            json={"platform": "tiktok_ads", "account_id": account_id, "method": "token", **grant},
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


PENDING_PROMPTS = 8  # accept and dismiss, for each of the four callers who may


def build_world(system: System) -> World:
    """Create the world through the gateway (and a CRM event over NATS), waiting for every replica."""
    run = secrets.token_hex(3)
    target_company = f"acc-target-{run}"
    deals = [
        DealWon(deal_id=f"acc-deal-t-{run}", client_id=target_company, company_name=f"Zephyrine Target {run}",
                owner_id="u-acc-own", won_at=datetime.now(UTC)),
        *(DealWon(deal_id=f"acc-deal-{n}-{run}", client_id=f"acc-pending-{n}-{run}",
                  company_name=f"Pending Deal {n} {run}", won_at=datetime.now(UTC)) for n in range(PENDING_PROMPTS)),
    ]  # fmt: skip
    asyncio.run(publish_envelopes(system.nats_url, [wrap(deal, source="crm") for deal in deals]))
    executive = httpx.Client(
        base_url=system.gateway_url,
        headers={"Authorization": f"Bearer {system.token(Role.EXECUTIVE, EXECUTIVE.sub)}"},
        timeout=15.0,
    )
    with executive:

        def prompts() -> list[dict] | None:
            items = executive.get("/api/v1/conversion-prompts", params={"limit": 100}).json()["items"]
            mine = [p for p in items if p["deal_id"].endswith(run)]
            return mine if len(mine) == len(deals) else None

        found = eventually(prompts)
        assert found, "the DealWon events did not raise conversion prompts\n" + logs(system)
        by_company = {p["company_id"]: p["id"] for p in found}
        target_prompt = by_company.pop(target_company)
        accepted = executive.post(
            f"/api/v1/conversion-prompts/{target_prompt}/accept", json={"dm_id": "u-acc-dm", "squad_id": TARGET_SQUAD}
        )
        assert accepted.status_code == 201, accepted.text
        target = Named(target_company, f"Zephyrine Target {run}")
        child = _client(executive, f"Quorvath Child {run}", dm_id="u-acc-child-dm", squad_id=TARGET_SQUAD)
        stranger = _client(executive, f"Marrowind Stranger {run}", dm_id="u-acc-other", squad_id=OTHER_SQUAD)
        for member in (child, stranger):
            joined = executive.patch(f"/api/v1/clients/{member.id}", json={"parent_id": target.id})
            assert joined.status_code == 200, joined.text
        plain = executive.post("/api/v1/companies", json={"name": f"Plainfield Prospect {run}"})
        assert plain.status_code == 201, plain.text
        world = World(
            system=system,
            target=target,
            child=child,
            stranger=stranger,
            plain_company=Named(plain.json()["id"], plain.json()["name"]),
            target_prompt_id=target_prompt,
            pending_prompts=list(by_company.values()),
        )
        base = f"/api/v1/clients/{target.id}"
        ratings = {"profitability": 4, "strategic_value": 4, "relationship_quality": 4}
        for client in (target, child, stranger):
            scored = eventually(
                lambda c=client: (
                    executive.post(
                        f"/api/v1/clients/{c.id}/tiering/scores", json={"track": "managed_delivery", "ratings": ratings}
                    ).status_code
                    == 201
                )
            )
            assert scored, "tiering never learned of the world's clients\n" + logs(system)
        assert eventually(lambda: executive.get(f"{base}/connections").status_code == 200), logs(system)
        assert executive.post(f"{base}/health", json={"score": 70}).status_code == 201
        qbr = executive.post(f"{base}/qbrs", json={"held_on": "2026-01-10", "summary": "fine"})
        goal = executive.post(
            f"{base}/goals",
            json={"name": "ROAS", "kind": "level", "target": "4", "current": "3.7",
                  "period_start": "2026-01-01", "period_end": "2026-12-31"},
        )  # fmt: skip
        assert qbr.status_code == goal.status_code == 201, (qbr.text, goal.text)
        world.ids.update(qbr_id=qbr.json()["id"], goal_id=goal.json()["id"], note_id=world.fresh_note(EXECUTIVE))
        world.ids["connection_id"] = connect_account(world, target.id, world.unique("acct"))
        backfill = executive.post(f"{base}/results/backfills", json={"days": 30})
        assert backfill.status_code == 202, backfill.text
        world.ids["backfill_id"] = backfill.headers["Location"].rsplit("/", 1)[-1]
        finished = eventually(
            lambda: executive.get(backfill.headers["Location"]).json()["status"] in ("completed", "failed"), timeout=60
        )
        assert finished, "the target's backfill did not finish\n" + logs(system)
        _analyse_last_week(system)
        analysed = eventually(lambda: executive.get(f"{base}/insights/analysis").status_code == 200, timeout=60)
        assert analysed, "the target was not analysed\n" + logs(system)
        world.ids["webhook_id"] = world.fresh_webhook()
        world.ids["proposal_id"] = world.fresh_proposal()
    with world.http(BY_NAME["dm_manager"]) as dm:

        def dm_notification() -> str | None:
            items = dm.get("/api/v1/me/notifications").json()["items"]
            return next((n["id"] for n in items if n.get("client_id") == target.id), None)

        notification = eventually(dm_notification)
    assert notification, "the target's DM never got a notification\n" + logs(system)
    world.ids["notification_id"] = notification
    return world


def _client(executive: httpx.Client, name: str, *, dm_id: str, squad_id: str) -> Named:
    domain = f"{name.lower().replace(' ', '-')}.example"
    company = executive.post("/api/v1/companies", json={"name": name, "domain": domain})
    assert company.status_code == 201, company.text
    converted = executive.post(
        f"/api/v1/companies/{company.json()['id']}/convert",
        json={"status": "Active", "dm_id": dm_id, "squad_id": squad_id},
    )
    assert converted.status_code == 201, converted.text
    return Named(company.json()["id"], name, domain)


def _analyse_last_week(system: System) -> None:
    """What the weekly CronJob runs: the analysis of last week's results for every Active client."""
    done = subprocess.run(
        [sys.executable, "-m", "clientpulse.insights.cli", "analyze-week", "--requested-by", "access"],
        env={**os.environ, "CLIENTPULSE_NATS_URL": system.nats_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
