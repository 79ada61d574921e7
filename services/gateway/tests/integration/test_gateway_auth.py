"""Bearer tokens: what the gateway refuses with 401, and what it accepts (HS256, RS256 and ES256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clientpulse.shared.errors import PROBLEM_JSON

NOW = int(time.time())


def assert_unauthenticated(response: httpx.Response, detail_part: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["status"] == 401
    assert detail_part in problem["detail"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    return {
        "sub": "u-1",
        "role": "executive",
        "iss": "clientpulse-tests",
        "aud": "clientpulse",
        "exp": NOW + 600,
    } | (overrides)


def test_a_request_without_a_token_is_refused(gateway: httpx.Client) -> None:
    assert_unauthenticated(gateway.get("/api/v1/clients"), "no bearer token")


def test_a_request_with_another_scheme_is_refused(gateway: httpx.Client) -> None:
    assert_unauthenticated(gateway.get("/api/v1/clients", headers={"Authorization": "Basic dTpw"}), "Bearer <token>")


def test_a_malformed_token_is_refused(gateway: httpx.Client) -> None:
    response = gateway.get("/api/v1/clients", headers={"Authorization": "Bearer not-a-jwt"})
    assert_unauthenticated(response, "malformed")


@pytest.mark.parametrize(
    ("overrides", "detail_part"),
    [
        ({"exp": NOW - 3600, "iat": NOW - 7200}, "expired"),
        ({"iss": "someone-else"}, "not issued by 'clientpulse-tests'"),
        ({"aud": "another-api"}, "audience 'clientpulse'"),
        ({"exp": None}, "'exp' claim"),
        ({"sub": None}, "'sub' claim"),
        ({"role": None}, "'role' claim"),
        ({"role": "intern"}, "role 'intern' is not a clientpulse role"),
    ],
)
def test_a_token_with_wrong_claims_is_refused(
    gateway: httpx.Client, token: Callable[..., str], overrides: dict[str, Any], detail_part: str
) -> None:
    role = overrides.pop("role", "executive")
    response = gateway.get("/api/v1/clients", headers={"Authorization": f"Bearer {token(role, **overrides)}"})
    assert_unauthenticated(response, detail_part)


def test_a_token_signed_with_another_secret_is_refused(gateway: httpx.Client, token: Callable[..., str]) -> None:
    forged = token("executive", key="an-attacker-secret-that-is-long-enough")
    assert_unauthenticated(gateway.get("/api/v1/clients", headers={"Authorization": f"Bearer {forged}"}), "signature")


def test_an_unsigned_alg_none_token_is_refused(gateway: httpx.Client) -> None:
    forged = unsigned_token({"alg": "none", "typ": "JWT"}, claims())
    response = gateway.get("/api/v1/clients", headers={"Authorization": f"Bearer {forged}"})
    assert_unauthenticated(response, "algorithm is not accepted")


def test_me_reports_the_callers_claims(gateway: httpx.Client, token: Callable[..., str]) -> None:
    bearer = token("manager", sub="u-42", squad="s-1", name="Ada Lovelace")
    response = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 200
    assert response.json() == {"sub": "u-42", "role": "manager", "squad": "s-1", "name": "Ada Lovelace"}


def test_me_needs_a_token(gateway: httpx.Client) -> None:
    assert_unauthenticated(gateway.get("/api/v1/me"), "no bearer token")


def test_role_claims_are_read_case_insensitively(gateway: httpx.Client, token: Callable[..., str]) -> None:
    response = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {token('Executive')}"})
    assert response.json()["role"] == "executive"


@pytest.mark.parametrize(("key_name", "algorithm", "kid"), [("rsa", "RS256", "rsa-1"), ("ec", "ES256", "ec-1")])
def test_asymmetric_tokens_verify_with_the_identity_providers_published_keys(
    asymmetric_gateway: httpx.Client,
    token: Callable[..., str],
    signing_keys: dict[str, Any],
    key_name: str,
    algorithm: str,
    kid: str,
) -> None:
    signed = token("head", sub="u-7", key=signing_keys[key_name], algorithm=algorithm, headers={"kid": kid})
    headers = {"Authorization": f"Bearer {signed}"}
    assert asymmetric_gateway.get("/api/v1/me", headers=headers).json()["sub"] == "u-7"
    forwarded = asymmetric_gateway.get("/api/v1/clients/c-1", headers=headers)
    assert forwarded.status_code == 200
    assert forwarded.json()["service"] == "clients"


def test_an_hs256_token_is_refused_where_rs256_is_configured(
    asymmetric_gateway: httpx.Client, token: Callable[..., str]
) -> None:
    response = asymmetric_gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {token('executive')}"})
    assert_unauthenticated(response, "algorithm is not accepted")


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    asymmetric_gateway: httpx.Client, signing_keys: dict[str, Any]
) -> None:
    public_pem = (
        signing_keys["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    unsigned = unsigned_token(header, claims()).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    forged = f"{unsigned}.{_b64(signature)}"
    response = asymmetric_gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert_unauthenticated(response, "algorithm is not accepted")


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    """A key the identity provider does not publish."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_token_from_an_unknown_key_is_refused(
    asymmetric_gateway: httpx.Client, token: Callable[..., str], stranger_key: rsa.RSAPrivateKey
) -> None:
    signed = token("executive", key=stranger_key, algorithm="RS256", headers={"kid": "rotated-away"})
    response = asymmetric_gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {signed}"})
    assert_unauthenticated(response, "key id 'rotated-away'")


def test_a_token_whose_signature_does_not_match_its_key_is_refused(
    asymmetric_gateway: httpx.Client, token: Callable[..., str], stranger_key: rsa.RSAPrivateKey
) -> None:
    signed = token("executive", key=stranger_key, algorithm="RS256", headers={"kid": "rsa-1"})
    response = asymmetric_gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {signed}"})
    assert_unauthenticated(response, "signature does not verify")
