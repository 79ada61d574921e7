"""Signing in with OpenID Connect against a real provider process, through a real gateway that checks the token.

The provider (``oidc_provider.py``) redeems a code only with the PKCE verifier of its challenge; the
gateway accepts RS256 tokens from the provider's JWKS with the console's client id as audience.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from web_testkit import console, gateway_trusting, oidc_provider

pytestmark = pytest.mark.integration

CLIENT_ID = "clientpulse-web"
USERS = [
    {"sub": "u-oidc-7", "role": "manager", "squad": "s-1", "name": "Dana Oidc"},
    {"sub": "u-norole", "name": "Nobody"},
]


@dataclass
class Setup:
    issuer: str
    gateway: str
    web: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    logs: Path = tmp_path_factory.mktemp("oidc")
    with (
        oidc_provider(USERS, logs) as issuer,
        gateway_trusting(issuer, CLIENT_ID, logs) as gateway,
        console(
            gateway, logs, oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret="console-secret"
        ) as web,
    ):
        yield Setup(issuer, gateway, web)


def _authorize(setup: Setup, browser: httpx.Client, sub: str) -> str:
    """Start the sign-in at the console and pick ``sub`` at the provider; the callback URL it redirects to."""
    start = browser.get("/sign-in/oidc")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{setup.issuer}/oauth2/authorize?")
    consent = httpx.post(location, data={"sub": sub}, follow_redirects=False)
    assert consent.status_code == 302, consent.text
    callback = consent.headers["location"]
    assert callback.startswith(f"{setup.web}/auth/callback?")
    return callback


def test_the_authorization_request_carries_pkce_state_and_nonce(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        query = parse_qs(urlparse(browser.get("/sign-in/oidc").headers["location"]).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [f"{setup.web}/auth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split()


def test_a_person_signs_in_and_the_gateway_accepts_the_token(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        done = browser.get(_authorize(setup, browser, "u-oidc-7"))
        assert done.status_code == 302 and done.headers["location"] == "/", done.text
        cookie = next(v for k, v in done.headers.multi_items() if k == "set-cookie" and "clientpulse_session" in v)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        account = browser.get("/account")
    assert account.status_code == 200
    for shown in ("u-oidc-7", "Dana Oidc", "Manager", "s-1"):
        assert shown in account.text


def test_a_callback_for_another_sign_in_is_refused(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        callback = urlparse(_authorize(setup, browser, "u-oidc-7"))
        query = {key: values[0] for key, values in parse_qs(callback.query).items()}
        forged = browser.get(f"/auth/callback?{urlencode({**query, 'state': 'someone-elses'})}")
        assert forged.status_code == 400
        assert "state differs" in forged.text
        assert browser.get("/account").headers.get("location") == "/sign-in"


def test_a_code_is_redeemed_once(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        callback = _authorize(setup, browser, "u-oidc-7")
        assert browser.get(callback).status_code == 302
    with httpx.Client(base_url=setup.web) as replay:
        assert replay.get(callback).status_code == 400


def test_a_token_without_a_role_is_refused_in_words(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        refused = browser.get(_authorize(setup, browser, "u-norole"))
        assert refused.status_code == 403
        assert "The gateway does not accept the provider&#39;s token" in refused.text
        assert "role" in refused.text
        assert browser.get("/account").headers.get("location") == "/sign-in"


def test_a_changed_session_cookie_signs_nobody_in(setup: Setup) -> None:
    with httpx.Client(base_url=setup.web) as browser:
        browser.get(_authorize(setup, browser, "u-oidc-7"))
        value = browser.cookies["clientpulse_session"]
        browser.cookies.set(
            "clientpulse_session", value[:-12] + ("A" * 12 if not value.endswith("A" * 12) else "B" * 12)
        )
        assert browser.get("/account").headers.get("location") == "/sign-in"
