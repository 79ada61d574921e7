"""Outside the development mode a service refuses to start while a secret holds its built-in
development value, and names the setting; with real values it starts.

Each case starts the service's real console script (``clientpulse-<service> serve``), as a
Deployment does, with every secret set to a real value except the one under test.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from clientpulse.shared.embedded import free_port

BIN = Path(sys.executable).parent
PREFIX = {
    "clients": "CLIENTPULSE_CLIENTS_",
    "tiering": "CLIENTPULSE_TIERING_",
    "results-ingest": "CLIENTPULSE_RESULTS_",
    "insights": "CLIENTPULSE_INSIGHTS_",
    "notifications": "CLIENTPULSE_NOTIFICATIONS_",
    "gateway": "CLIENTPULSE_GATEWAY_",
    "web": "CLIENTPULSE_WEB_",
}
# Every secret with a development value built into the code, by the service that refuses it.
DEVELOPMENT_SECRETS = {
    "clients": ["CLIENTPULSE_IDENTITY_SECRET"],
    "tiering": ["CLIENTPULSE_IDENTITY_SECRET"],
    "insights": ["CLIENTPULSE_IDENTITY_SECRET"],
    "gateway": ["CLIENTPULSE_IDENTITY_SECRET", "CLIENTPULSE_JWT_SECRET"],
    "notifications": ["CLIENTPULSE_IDENTITY_SECRET", "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY"],
    # The console signs no identity; its session cookie key is its only secret.
    "web": ["CLIENTPULSE_WEB_SESSION_SECRET"],
    "results-ingest": [
        "CLIENTPULSE_IDENTITY_SECRET",
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS",
        # Its default points every platform at the development sandbox, whose credentials are public.
        "CLIENTPULSE_RESULTS_SANDBOX_URL",
        "CLIENTPULSE_RESULTS_PLATFORMS__META_ADS__APP_SECRET",
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__CLIENT_SECRET",
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__DEVELOPER_TOKEN",
        "CLIENTPULSE_RESULTS_PLATFORMS__TIKTOK_ADS__APP_SECRET",
        "CLIENTPULSE_RESULTS_PLATFORMS__SHOPIFY__CLIENT_SECRET",
        "CLIENTPULSE_RESULTS_PLATFORMS__GA4__CLIENT_SECRET",
    ],
}
CASES = [(service, setting) for service, settings in DEVELOPMENT_SECRETS.items() for setting in settings]


def real_values() -> dict[str, str]:
    """A production-like value for every secret (and no development sandbox)."""
    return {
        "CLIENTPULSE_IDENTITY_SECRET": secrets.token_urlsafe(32),
        "CLIENTPULSE_JWT_SECRET": secrets.token_urlsafe(32),
        "CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY": secrets.token_urlsafe(32),
        "CLIENTPULSE_WEB_SESSION_SECRET": secrets.token_urlsafe(32),
        "CLIENTPULSE_RESULTS_ENCRYPTION_KEYS": json.dumps([Fernet.generate_key().decode()]),
        "CLIENTPULSE_RESULTS_SANDBOX_URL": "",
        "CLIENTPULSE_RESULTS_PLATFORMS__META_ADS__APP_SECRET": secrets.token_urlsafe(16),
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__CLIENT_SECRET": secrets.token_urlsafe(16),
        "CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__DEVELOPER_TOKEN": secrets.token_urlsafe(16),
        "CLIENTPULSE_RESULTS_PLATFORMS__TIKTOK_ADS__APP_SECRET": secrets.token_urlsafe(16),
        "CLIENTPULSE_RESULTS_PLATFORMS__SHOPIFY__CLIENT_SECRET": secrets.token_urlsafe(16),
        "CLIENTPULSE_RESULTS_PLATFORMS__GA4__CLIENT_SECRET": secrets.token_urlsafe(16),
    }


def environment(var_dir: Path, **settings: str) -> dict[str, str]:
    """The process environment: nothing clientpulse-specific inherited, the development mode off."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLIENTPULSE_")}
    return {**env, "CLIENTPULSE_VAR_DIR": str(var_dir), "CLIENTPULSE_DEV_MODE": "false", **settings}


def run(service: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / f"clientpulse-{service}"), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("service", "setting"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_a_development_default_stops_the_service_naming_the_setting(service: str, setting: str, tmp_path: Path) -> None:
    values = real_values()
    del values[setting]
    result = run(service, environment(tmp_path, **values), "serve", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert f"{service} refuses to start: {setting} holds its built-in development value" in result.stderr
    # Only the setting left at its development value is named.
    others = {name for names in DEVELOPMENT_SECRETS.values() for name in names} - {setting}
    assert not [name for name in others if name in result.stderr], result.stderr


def test_the_development_mode_allows_the_development_defaults(tmp_path: Path, nats_url: str) -> None:
    env = environment(tmp_path, CLIENTPULSE_DEV_MODE="true", CLIENTPULSE_NATS_URL=nats_url)
    with Serving("notifications", env) as url:
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("service", list(DEVELOPMENT_SECRETS))
def test_a_service_with_real_secrets_starts(service: str, tmp_path: Path, nats_url: str) -> None:
    env = environment(tmp_path, CLIENTPULSE_NATS_URL=nats_url, **real_values())
    with Serving(service, env) as url:
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("service", ["results-ingest", "notifications"])
def test_migrate_needs_no_secret(service: str, tmp_path: Path) -> None:
    result = run(service, environment(tmp_path), "migrate")
    assert result.returncode == 0, result.stderr


def test_generating_the_api_documents_needs_no_secret(tmp_path: Path) -> None:
    result = run("gateway", environment(tmp_path), "openapi", "--check")
    assert result.returncode == 0, result.stderr
    asyncapi = subprocess.run(
        [sys.executable, "-m", "clientpulse.shared.asyncapi", "--check"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert asyncapi.returncode == 0, asyncapi.stderr


class Serving:
    """A service process, serving until the block ends."""

    def __init__(self, service: str, env: dict[str, str]) -> None:
        self.service = service
        self.port = free_port()
        self.env = {**env, f"{PREFIX[service]}PORT": str(self.port)}
        self.log = Path(env["CLIENTPULSE_VAR_DIR"]) / f"{service}.log"

    def __enter__(self) -> str:
        url = f"http://127.0.0.1:{self.port}"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / f"clientpulse-{self.service}"), "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.service} exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        pytest.fail(f"{self.service} did not answer within 90 s:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
