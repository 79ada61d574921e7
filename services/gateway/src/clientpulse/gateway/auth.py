"""Who is calling: the end user's bearer JWT checked with PyJWT and turned into an ``Identity``.

Development signs tokens with HS256 and a shared secret; production verifies RS256/ES256 tokens with
the identity provider's keys, fetched from its JWKS URL and cached. The algorithms are pinned to
``JwtSettings.algorithms``: a token signed any other way (``none``, HS256 where RS256 is configured)
is refused before any key is looked at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import jwt
from litestar.exceptions import NotAuthorizedException

from clientpulse.gateway.errors import IdentityProviderUnavailable, describe
from clientpulse.shared.identity import Identity, Role
from clientpulse.shared.tokens import JwtSettings

REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub", "role")
_JWKS_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5.0)
# A token with an unknown key id triggers a fresh JWKS fetch (key rotation), at most this often.
_UNKNOWN_KEY_REFRESH_SECONDS = 30.0
_RETRY_AFTER_FAILURE_SECONDS = 5.0

_log = logging.getLogger(__name__)


def _unauthenticated(detail: str, *, token_present: bool = True) -> NotAuthorizedException:
    challenge = 'Bearer realm="clientpulse"'
    if token_present:
        challenge += ', error="invalid_token"'
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


def _reason(exc: jwt.InvalidTokenError, settings: JwtSettings) -> str:
    accepted = ", ".join(settings.algorithms)
    reasons: list[tuple[type[jwt.InvalidTokenError], str]] = [
        (jwt.ExpiredSignatureError, "the token has expired; sign in again"),
        (jwt.ImmatureSignatureError, "the token is not valid yet (its nbf or iat is in the future)"),
        (jwt.InvalidIssuerError, f"the token was not issued by {settings.issuer!r}"),
        (jwt.InvalidAudienceError, f"the token is not meant for the audience {settings.audience!r}"),
        (jwt.InvalidAlgorithmError, f"the token's signing algorithm is not accepted; use {accepted}"),
        (jwt.InvalidSignatureError, "the token's signature does not verify"),
        (jwt.DecodeError, f"the bearer token is malformed: {exc}"),
    ]
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token has no {exc.claim!r} claim"
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason
    return f"the token is not valid: {exc}"


class JwksKeySet:
    """The identity provider's public keys, fetched from its JWKS URL and cached.

    Keys are fetched once, kept for ``cache_seconds`` and fetched again when a token names a key id
    the cached set lacks (at most every 30 s). Concurrent requests share one fetch; when a refresh
    fails the previous keys stay in use, and with no keys at all the fetch is retried every 5 s.
    """

    def __init__(self, url: str, cache_seconds: float, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self._session = session
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = float("-inf")
        self._failed_at = float("-inf")
        self._failure = ""
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether any keys are cached."""
        return self._keys is not None

    async def key_for(self, key_id: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key that signed a token with this ``kid`` header and algorithm, or None if unknown."""
        if time.monotonic() - self._fetched_at > self.cache_seconds:
            await self.refresh(older_than=self.cache_seconds)
        key = self._find(key_id, algorithm)
        if key is None:
            await self.refresh(older_than=min(_UNKNOWN_KEY_REFRESH_SECONDS, self.cache_seconds))
            key = self._find(key_id, algorithm)
        return key

    async def refresh(self, *, older_than: float = 0.0) -> None:
        """Fetch the key set again if the cached one is older than ``older_than`` seconds."""
        async with self._lock:
            now = time.monotonic()
            if now - self._fetched_at <= older_than:
                return
            if self._keys is None and now - self._failed_at < _RETRY_AFTER_FAILURE_SECONDS:
                # Without keys every request would wait on its own doomed fetch; fail fast instead.
                raise IdentityProviderUnavailable(self._failure)
            try:
                async with self._session.get(self.url, timeout=_JWKS_FETCH_TIMEOUT) as response:
                    response.raise_for_status()
                    document = await response.json(content_type=None)
                self._keys = jwt.PyJWKSet.from_dict(document)
            except (aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWKSetError) as exc:
                self._failed_at = time.monotonic()
                self._failure = (
                    f"the identity provider's keys at {self.url} could not be fetched ({describe(exc)}); "
                    "check CLIENTPULSE_JWT_JWKS_URL"
                )
                if self._keys is None:
                    _log.error("%s", self._failure)
                    raise IdentityProviderUnavailable(self._failure) from exc
                _log.warning("keeping the cached signing keys: %s", self._failure)
            self._fetched_at = time.monotonic()

    def _find(self, key_id: str | None, algorithm: str) -> jwt.PyJWK | None:
        if self._keys is None:
            return None
        candidates = [key for key in self._keys.keys if key.algorithm_name == algorithm]
        if key_id is not None:
            return next((key for key in candidates if key.key_id == key_id), None)
        return candidates[0] if len(candidates) == 1 else None


class TokenVerifier:
    """Checks bearer tokens against the pinned algorithms, issuer, audience and required claims."""

    def __init__(self, settings: JwtSettings, key_set: JwksKeySet | None = None) -> None:
        if settings.algorithms != ["HS256"] and key_set is None:
            raise ValueError("RS256/ES256 tokens need the identity provider's JWKS key set")
        self.settings = settings
        self.key_set = key_set
        self._secret = settings.secret.get_secret_value() if settings.secret is not None else None

    async def identify(self, authorization: str | None) -> Identity:
        """The caller named by an ``Authorization: Bearer`` header; 401 with the reason otherwise."""
        if not authorization:
            raise _unauthenticated(
                "the request has no bearer token; send 'Authorization: Bearer <token>'", token_present=False
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("the Authorization header is not 'Bearer <token>'", token_present=False)
        try:
            claims = self._decode(token, await self._key(token))
        except jwt.InvalidTokenError as exc:
            raise _unauthenticated(_reason(exc, self.settings)) from exc
        return _identity_from(claims)

    async def _key(self, token: str) -> Any:
        if self.key_set is None:
            # jwt.decode refuses any algorithm but the pinned ones itself.
            return self._secret
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise jwt.InvalidAlgorithmError(f"{algorithm!r} is not accepted")
        key_id = header.get("kid")
        key = await self.key_set.key_for(key_id if isinstance(key_id, str) else None, algorithm)
        if key is None:
            raise _unauthenticated(f"the token's key id {key_id!r} is not among the identity provider's keys")
        return key

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        return jwt.decode(
            token,
            key,
            algorithms=list(self.settings.algorithms),
            audience=self.settings.audience,
            issuer=self.settings.issuer,
            leeway=self.settings.leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS)},
        )


def _identity_from(claims: dict[str, Any]) -> Identity:
    role_claim = claims["role"]
    try:
        role = Role.parse(role_claim) if isinstance(role_claim, str) else None
    except ValueError:
        role = None
    if role is None:
        known = ", ".join(known_role.value for known_role in Role)
        raise _unauthenticated(f"the token's role {role_claim!r} is not a clientpulse role ({known})")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip():
        raise _unauthenticated("the token's 'sub' claim is empty")
    squad, name = claims.get("squad"), claims.get("name")
    return Identity(
        sub=sub,
        role=role,
        squad=str(squad) if squad else None,
        name=str(name) if name else None,
    )
