"""End-user JWT settings and development tokens.

The gateway verifies bearer tokens with these settings; the ``clientpulse token`` command mints
development tokens with the same secret, issuer and audience, so a token it prints works against a
gateway started with the same environment.
"""

from __future__ import annotations

import time
from typing import Literal

import jwt
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clientpulse.shared.identity import Role
from clientpulse.shared.settings import DEV_JWT_SECRET

JwtAlgorithm = Literal["HS256", "RS256", "ES256"]


class JwtSettings(BaseSettings):
    """How end-user tokens are checked (``CLIENTPULSE_JWT_*``).

    Development: HS256 with a shared secret. Production: RS256/ES256 keys from the identity
    provider's JWKS URL. The algorithms are pinned: a token signed any other way is refused.
    """

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_JWT_", extra="ignore")

    issuer: str = "clientpulse-dev"
    audience: str = "clientpulse"
    algorithms: list[JwtAlgorithm] = ["HS256"]
    secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    jwks_url: str | None = None
    jwks_cache_seconds: int = 300
    leeway_seconds: int = 30

    @model_validator(mode="after")
    def _keys_match_algorithms(self) -> JwtSettings:
        asymmetric = any(alg != "HS256" for alg in self.algorithms)
        if "HS256" in self.algorithms and self.secret is None:
            raise ValueError("HS256 needs CLIENTPULSE_JWT_SECRET")
        if asymmetric and not self.jwks_url:
            raise ValueError("RS256/ES256 need CLIENTPULSE_JWT_JWKS_URL")
        if "HS256" in self.algorithms and asymmetric:
            # Mixing symmetric and asymmetric algorithms invites key-confusion attacks.
            raise ValueError("use HS256 alone (development) or RS256/ES256 (production), not both")
        return self


def mint_token(
    settings: JwtSettings,
    *,
    sub: str,
    role: Role,
    squad: str | None = None,
    name: str | None = None,
    ttl_seconds: int = 12 * 3600,
    now: float | None = None,
) -> str:
    """A development HS256 token with the claims the gateway requires."""
    if settings.secret is None or "HS256" not in settings.algorithms:
        raise ValueError("development tokens need HS256 and CLIENTPULSE_JWT_SECRET")
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "role": role.value,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if squad:
        claims["squad"] = squad
    if name:
        claims["name"] = name
    return jwt.encode(claims, settings.secret.get_secret_value(), algorithm="HS256")
