"""No secret leaks: the whole system runs outside the development mode with a distinctive value for
every kind of secret, exercises the flows that use each, and then every log line, every HTTP response
(headers and body), every event on the streams, every dead letter and outbox error, and every
request the system made to the outside world is searched for each value and its base64 forms.

The only place a secret is meant to show is the answer that hands it over: a webhook's signing
secret, in the response that registered the webhook.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import nats
import pytest
from cryptography.fernet import Fernet
from leak_scan import OutsideWorld, Recorder, Secret, find_leaks
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import Role
from clientpulse.shared.testing.servers import create_database, drop_database
from clientpulse.shared.tokens import JwtSettings, mint_token

pytestmark = pytest.mark.e2e

ISSUER = "clientpulse-leak-scan"
ORGANIZATION = "4242"
WEBHOOK_CREATED = "webhook registration response"
TO_PRODUCTIVE = "request to Productive"
WEBHOOK_DELIVERY = "webhook delivery"


def distinctive(kind: str) -> str:
    return f"leakcanary-{kind}-{secrets.token_hex(12)}"


def configured_secrets() -> dict[str, str]:
    """A distinctive value for every secret the services are configured with, by environment variable."""
    return {
        "CLIENTPULSE_IDENTITY_SECRET": distinctive("identity"),
        "CLIENTPULSE_JWT_SECRET": distinctive("jwt"),
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY": distinctive("webhook-key"),
        "CLIENTPULSE_RESULTS_PLATFORMS__META_ADS__APP_SECRET": distinctive("meta-app-secret"),
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__CLIENT_SECRET": distinctive("google-client-secret"),
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__DEVELOPER_TOKEN": distinctive("google-developer-token"),
        "CLIENTPULSE_RESULTS_PLATFORMS__TIKTOK_ADS__APP_SECRET": distinctive("tiktok-app-secret"),
        "CLIENTPULSE_RESULTS_PLATFORMS__SHOPIFY__CLIENT_SECRET": distinctive("shopify-client-secret"),
        "CLIENTPULSE_RESULTS_PLATFORMS__GA4__CLIENT_SECRET": distinctive("ga4-client-secret"),
        "CLIENTPULSE_TIERING_PRODUCTIVE_TOKEN": distinctive("productive-token"),
    }


class Run:
    """What one run of the system produced, and the secrets it used."""

    def __init__(self) -> None:
        self.secrets: list[Secret] = []
        self.sources: dict[str, str] = {}
        self.recorder = Recorder()

    def secret(self, kind: str, value: str, *, shown_in: frozenset[str] = frozenset()) -> str:
        self.secrets.append(Secret(kind, value, shown_in))
        return value


@pytest.fixture(scope="module")
def run(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The system run outside the development mode with distinctive secrets, its flows exercised."""
    result = Run()
    values = configured_secrets()
    for variable, value in values.items():
        # Productive's token is what tiering sends Productive; it shows nowhere else.
        shown_in = frozenset({TO_PRODUCTIVE}) if variable == "CLIENTPULSE_TIERING_PRODUCTIVE_TOKEN" else frozenset()
        result.secret(variable, value, shown_in=shown_in)
    env = {
        **values,
        "CLIENTPULSE_DEV_MODE": "false",
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": json.dumps([values["CLIENTPULSE_RESULTS_ENCRYPTION_KEYS"]]),
        "CLIENTPULSE_JWT_ISSUER": ISSUER,
        "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.2",
        "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_REQUIRE_HTTPS": "false",
        "CLIENTPULSE_TIERING_PRODUCTIVE_ORGANIZATION_ID": ORGANIZATION,
    }
    world = OutsideWorld(values["CLIENTPULSE_TIERING_PRODUCTIVE_TOKEN"], ORGANIZATION)
    databases = {
        spec.name: create_database(postgres_admin_url, prefix="leak_" + spec.name.replace("-", "_"))
        for spec in SERVICES
    }
    var_dir = tmp_path_factory.mktemp("leak-scan")
    try:
        with world.running():
            env["CLIENTPULSE_TIERING_PRODUCTIVE_BASE_URL"] = world.productive_url
            stack = Stack(
                var_dir=var_dir,
                nats_url=None,
                nats_port=free_port(),
                database_urls=databases,
                ports={"sandbox": free_port(), **{spec.name: free_port() for spec in (*SERVICES, GATEWAY)}},
                env=env,
            )
            try:
                stack.start(timeout=120)
                jwt = JwtSettings(secret=SecretStr(values["CLIENTPULSE_JWT_SECRET"]), issuer=ISSUER)
                exercise(result, stack, jwt, world, env)
                result.sources.update(asyncio.run(stream_contents(str(stack.nats_url))))
            finally:
                stack.stop()
            for log in sorted(stack.log_dir.glob("*.log")):
                result.sources[f"log {log.name}"] = log.read_text(errors="replace")
            result.sources.update(asyncio.run(failure_records(databases)))
            for number, request in enumerate(world.requests, start=1):
                to = TO_PRODUCTIVE if request.startswith("GET /api/v2/") else WEBHOOK_DELIVERY
                result.sources[f"{to} {number}"] = request
        result.sources.update(result.recorder.responses)
        yield result
    finally:
        for url in databases.values():
            drop_database(url)


def exercise(run: Run, stack: Stack, jwt: JwtSettings, world: OutsideWorld, env: dict[str, str]) -> None:
    """Every flow that uses a secret: platform connections (token and OAuth), a backfill, a sync, a
    platform's token errors, Score Now through Productive, a webhook delivery, and refused requests."""
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=15)  # the platforms' side: not recorded

    def api(role: Role, sub: str, squad: str | None = None) -> httpx.Client:
        token = run.secret("a user's bearer token", mint_token(jwt, sub=sub, role=role, squad=squad))
        return run.recorder.client(stack.gateway_url, {"Authorization": f"Bearer {token}"})

    with api(Role.EXECUTIVE, "u-exec") as executive, api(Role.MANAGER, "u-910", "s-91") as dm:
        company = executive.post("/api/v1/companies", json={"name": "Leak Scan Ltd"}).json()
        converted = executive.post(
            f"/api/v1/companies/{company['id']}/convert", json={"dm_id": "u-910", "squad_id": "s-91"}
        )
        assert converted.status_code == 201, converted.text
        client = company["id"]
        assert wait(lambda: dm.get(f"/api/v1/clients/{client}/connections").status_code == 200)

        # Webhook first, so the tier change below is delivered to it.
        hook = executive.post("/api/v1/webhooks", json={"url": world.hook_url("tiers"), "event_types": ["TierChanged"]})
        assert hook.status_code == 201, hook.text
        run.recorder.responses[WEBHOOK_CREATED] = run.recorder.responses.popitem()[1]
        run.secret("webhook signing secret", hook.json()["secret"], shown_in=frozenset({WEBHOOK_CREATED}))

        # Token connections: TikTok backfills; Meta's token is dead (the platform's token error).
        for platform, account in (("tiktok_ads", "91001"), ("meta_ads", "91002")):
            sandbox.post(
                "/_sandbox/accounts", json={"platform": platform, "account_id": account, "campaigns": 2}
            ).raise_for_status()
            grant = sandbox.post(f"/_sandbox/grants/{platform}").json()
            for name, value in grant.items():
                if "token" in name and isinstance(value, str):
                    run.secret(f"{platform} {name}", value)
            if platform == "meta_ads":
                faults = ["expired_token"] * 20
                sandbox.post(
                    "/_sandbox/faults", json={"platform": platform, "account_id": account, "faults": faults}
                ).raise_for_status()
            created = dm.post(
                f"/api/v1/clients/{client}/connections",
                json={"platform": platform, "account_id": account, "method": "token", **grant},
            )
            assert created.status_code == 201 or platform == "meta_ads", created.text
        # A refused connection whose body carries a token: the 422 must not echo it.
        refused_token = run.secret("a token in a refused request", distinctive("refused-access-token"))
        refused = dm.post(
            f"/api/v1/clients/{client}/connections",
            json={"platform": "tiktok_ads", "account_id": "x" * 300, "method": "token", "access_token": refused_token},
        )
        assert refused.status_code == 422, refused.text
        started = dm.post(f"/api/v1/clients/{client}/results/backfills", json={"days": 30})
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        assert wait(lambda: dm.get(location).json().get("status") in ("completed", "failed"), timeout=90)
        assert dm.get(location).json()["rows_written"] > 0

        # OAuth (the client secret at the token endpoint), then a refused client at the token endpoint.
        for faults in ([], ["invalid_client"]):
            if faults:
                sandbox.post(
                    "/_sandbox/faults", json={"platform": "google_ads", "account_id": "@token", "faults": faults}
                ).raise_for_status()
            consent = executive.post(
                f"/api/v1/clients/{client}/connections", json={"platform": "google_ads", "account_id": "9100000003"}
            )
            assert consent.status_code == 202, consent.text
            back = urlparse(httpx.get(consent.json()["authorization_url"], follow_redirects=False).headers["Location"])
            with run.recorder.client(stack.gateway_url) as anonymous:
                finished = anonymous.get(f"{back.path}?{back.query}")
            assert (finished.status_code == 201) == (not faults), finished.text

        # Score Now: Productive is asked for the linked company (its token), refuses once, then the tier
        # change is delivered.
        linked = executive.put(f"/api/v1/clients/{client}/tiering/productive-link", json={"company_id": "991"})
        assert linked.status_code in (200, 201), linked.text
        ratings = {"profitability": 5, "strategic_value": 5, "relationship_quality": 5}
        for _ in range(2):
            wait(
                lambda: (
                    dm.post(
                        f"/api/v1/clients/{client}/tiering/scores",
                        json={"track": "managed_delivery", "ratings": ratings},
                    ).status_code
                    == 201
                )
            )
        assert wait(lambda: world.hooks_received > 0, timeout=60), "the webhook was never delivered"

        # Refused requests: a token signed with another secret, an expired one, garbage, none, a 404.
        for token in (
            mint_token(JwtSettings(secret=SecretStr(distinctive("other-jwt")), issuer=ISSUER), sub="u", role=Role.LEAD),
            mint_token(jwt, sub="u-910", role=Role.MANAGER, squad="s-91", now=time.time() - 86400, ttl_seconds=60),
            "not-a-jwt",
        ):
            with run.recorder.client(stack.gateway_url, {"Authorization": f"Bearer {token}"}) as bad:
                assert bad.get(f"/api/v1/clients/{client}/connections").status_code == 401
        with run.recorder.client(stack.gateway_url) as anonymous:
            assert anonymous.get("/api/v1/webhooks").status_code == 401
        assert dm.get("/api/v1/clients/00000000-0000-0000-0000-000000000000/connections").status_code in (403, 404)

    # The sync command, as the CronJob runs it: every connection read again with the platform secrets.
    results = next(spec for spec in SERVICES if spec.name == "results-ingest")
    sync = subprocess.run(  # the service's own console script
        [str(Path(sys.executable).parent / "clientpulse-results-ingest"), "sync"],
        env=stack._environment(results),  # exactly the service's environment
        capture_output=True,
        text=True,
        timeout=180,
    )
    run.sources["sync command output"] = sync.stdout + sync.stderr
    sandbox.close()


def wait(check: object, *, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.3)
    return False


async def stream_contents(nats_url: str) -> dict[str, str]:
    """Every message on every stream (events, key-value buckets), headers and data, by stream."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        found: dict[str, str] = {}
        for info in await js.streams_info():
            name = info.config.name
            lines = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    message = await js.get_msg(name, seq)
                except Exception:  # noqa: S112 - a deleted message leaves a gap
                    continue
                lines.append(f"{message.subject} {message.headers} {(message.data or b'').decode(errors='replace')}")
            found[f"stream {name}"] = "\n".join(lines)
        return found
    finally:
        await connection.close()


async def failure_records(databases: dict[str, str]) -> dict[str, str]:
    """Every dead letter and every outbox row (with its last error) of every service."""
    found: dict[str, str] = {}
    for service, url in databases.items():
        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        try:
            async with engine.connect() as connection:
                for table in ("dead_letters", "outbox"):
                    rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
                    found[f"{service} {table}"] = "\n".join(
                        " ".join(v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row)
                        for row in rows
                    )
        finally:
            await engine.dispose()
    return found


def test_no_secret_appears_anywhere(run: Run) -> None:
    kinds = {secret.kind for secret in run.secrets}
    assert {"webhook signing secret", "tiktok_ads access_token"} <= kinds
    assert any(name.startswith("log ") for name in run.sources) and any(n.startswith("stream ") for n in run.sources)
    assert sum(name.startswith("response ") for name in run.sources) >= 20
    leaks = find_leaks(run.secrets, run.sources)
    assert leaks == [], leaks


def test_the_run_used_every_kind_of_secret(run: Run) -> None:
    """The flows really ran: a backfill wrote rows, Productive was asked with its token, a webhook came."""
    assert any(name.startswith(TO_PRODUCTIVE) for name in run.sources), "tiering never asked Productive"
    deliveries = [text for name, text in run.sources.items() if name.startswith(WEBHOOK_DELIVERY)]
    assert any(r.startswith("POST /hook/tiers") for r in deliveries), "no webhook delivery"
    assert "synced" in run.sources["sync command output"], run.sources["sync command output"]


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda raw: raw,
    "base64": base64.b64encode,
    "url-safe base64 unpadded": lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"="),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_scan_finds_a_planted_value_in_every_kind_of_source(run: Run, encoding: str) -> None:
    """The scan can fail: a value planted in a copy of each kind of source is found there, and only there."""
    planted = Secret("planted", distinctive("planted") + "?")  # "?" makes base64 and URL-safe base64 differ
    written = ENCODINGS[encoding](planted.value.encode()).decode()
    kinds = [
        "log ",
        "response ",
        "stream ",
        WEBHOOK_DELIVERY,
        TO_PRODUCTIVE,
        "sync command output",
        "results-ingest outbox",
    ]
    for kind in kinds:
        name = next(n for n in run.sources if n.startswith(kind))
        sources = {**run.sources, name: f"{run.sources[name]} {written} "}
        found = find_leaks([planted], sources)
        assert found == [f"planted in {name}"]
