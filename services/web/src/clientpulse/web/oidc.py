"""OpenID Connect sign-in: discovery, the authorization-code flow with PKCE, and ID token validation.

The provider is found from its issuer URL (``/.well-known/openid-configuration``). Each sign-in keeps
a fresh ``state``, ``nonce`` and PKCE verifier in the session; the callback checks the state, sends
the verifier with the code, and accepts the ID token only when its signature verifies with one of the
provider's keys and its issuer, audience, expiry and nonce are right.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

# Asymmetric algorithms only: an ID token signed with a shared secret (or none) is refused.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
DISCOVERY_CACHE_SECONDS = 300.0


class SignInFailed(Exception):
    """The sign-in cannot complete; the message says why, in words a person can act on."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What discovery tells about the provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What one sign-in keeps in the session between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def fresh(cls) -> PendingSignIn:
        """New random values (the PKCE verifier is 64 URL-safe characters, within RFC 7636's 43–128)."""
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def code_challenge(self) -> str:
        """The S256 challenge of the verifier."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The tokens a completed sign-in obtained, and the ID token's claims."""

    id_token: str
    access_token: str
    claims: dict[str, Any]


class OidcClient:
    """The console as an OpenID Connect relying party of one provider."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | None, http: httpx.AsyncClient) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = float("-inf")
        self._keys: jwt.PyJWKSet | None = None

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, from discovery (cached for a few minutes)."""
        if self._metadata is not None and time.monotonic() - self._fetched_at < DISCOVERY_CACHE_SECONDS:
            return self._metadata
        document = await self._json("GET", f"{self.issuer}/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != self.issuer:
            raise SignInFailed(
                f"the provider at {self.issuer} names itself {document.get('issuer')!r}; "
                "set CLIENTPULSE_WEB_OIDC_ISSUER to its exact issuer"
            )
        try:
            self._metadata = ProviderMetadata(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
                algorithms=tuple(document.get("id_token_signing_alg_values_supported") or ["RS256"]),
            )
        except KeyError as exc:
            raise SignInFailed(f"the provider's discovery document has no {exc.args[0]!r}") from exc
        self._fetched_at = time.monotonic()
        return self._metadata

    async def authorization_url(self, pending: PendingSignIn, redirect_uri: str, scopes: str) -> str:
        """Where to send the person to sign in."""
        metadata = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.code_challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return f"{metadata.authorization_endpoint}{separator}{urlencode(query)}"

    async def complete(self, pending: PendingSignIn, *, code: str, state: str, redirect_uri: str) -> SignedIn:
        """Exchange the code (with the PKCE verifier) and validate the ID token."""
        if not secrets.compare_digest(state, pending.state):
            raise SignInFailed("the sign-in answer does not belong to this browser's sign-in (state differs)")
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": pending.code_verifier,
        }
        auth = (self.client_id, self._client_secret) if self._client_secret else None
        tokens = await self._json("POST", metadata.token_endpoint, data=form, auth=auth)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the provider's token answer has no ID token; is the 'openid' scope requested?")
        claims = await self.validate_id_token(id_token, nonce=pending.nonce)
        return SignedIn(id_token=id_token, access_token=str(tokens.get("access_token") or ""), claims=claims)

    async def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, expiry and nonce are checked."""
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
            algorithm = header.get("alg")
            if algorithm not in ACCEPTED_ALGORITHMS or algorithm not in metadata.algorithms:
                raise SignInFailed(f"the ID token is signed with {algorithm!r}, which is not accepted")
            key = await self._key(header.get("kid"), algorithm)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[algorithm],
                audience=self.client_id,
                issuer=metadata.issuer,
                leeway=30,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SignInFailed(f"the provider's ID token is not valid: {exc}") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token's nonce does not match this sign-in")
        return claims

    async def _key(self, key_id: str | None, algorithm: str) -> jwt.PyJWK:
        for attempt in range(2):
            if self._keys is None or attempt == 1:
                metadata = await self.metadata()
                self._keys = jwt.PyJWKSet.from_dict(await self._json("GET", metadata.jwks_uri))
            candidates = [key for key in self._keys.keys if key.algorithm_name == algorithm]
            for key in candidates:
                if key_id is None or key.key_id == key_id:
                    return key
        raise SignInFailed(f"the ID token's key {key_id!r} is not among the provider's keys")

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise SignInFailed(f"the identity provider at {url} could not be reached ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise SignInFailed(f"the identity provider answered {response.status_code} at {url}: {reason or 'no JSON'}")
        return body
