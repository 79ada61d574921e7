"""Settings of the web console (``CLIENTPULSE_WEB_*``); end-user token settings are ``CLIENTPULSE_JWT_*``.

Defaults run the embedded mode: the gateway on 127.0.0.1:8000, the console on 127.0.0.1:8080.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings, secrets_at_default
from clientpulse.shared.tokens import JwtSettings

DEV_SESSION_SECRET = "clientpulse-dev-web-session-secret-change-me"  # noqa: S105 - embedded mode only


class WebSettings(ServiceSettings):
    """Where the gateway is, how people sign in, and how the session cookie is kept.

    Sign-in is OpenID Connect (authorization code with PKCE) when ``OIDC_ISSUER`` is set; the
    development sign-in (pick a role, user and squad; the console mints a development token with
    ``CLIENTPULSE_JWT_SECRET``) is offered only with ``DEV_SIGN_IN=true`` in the development mode.
    """

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_WEB_", extra="ignore")

    service_name: str = "web"
    port: int = 8080
    gateway_url: str = "http://127.0.0.1:8000"
    # Where people reach the console: the OIDC redirect URI is built from it.
    public_url: str = "http://127.0.0.1:8080"
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    # Send the session cookie over HTTPS only (the chart turns it on).
    secure_cookies: bool = False
    request_timeout: float = Field(default=15.0, gt=0)

    oidc_issuer: str | None = None
    oidc_client_id: str = "clientpulse-web"
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    # Which of the provider's tokens the console sends to the gateway: the ID token (its audience is
    # the console's client id) or the access token, when the provider issues JWT access tokens.
    oidc_api_token: Literal["id_token", "access_token"] = "id_token"  # noqa: S105 - a token kind, not a secret

    dev_sign_in: bool = False
    jwt: JwtSettings = Field(default_factory=JwtSettings)

    @field_validator("gateway_url", "public_url", "oidc_issuer")
    @classmethod
    def _without_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") if url else url

    def development_defaults(self) -> list[str]:
        """The session secret, and the JWT secret while the development sign-in mints tokens with it."""
        # The console never signs identities: the gateway's identity secret is not its concern.
        found = [name for name in secrets_at_default(self, "CLIENTPULSE_WEB_") if not name.endswith("IDENTITY_SECRET")]
        if self.dev_sign_in:
            found.append("CLIENTPULSE_WEB_DEV_SIGN_IN")
        return found

    @property
    def redirect_uri(self) -> str:
        """Where the identity provider sends people back with the authorization code."""
        return f"{self.public_url}/auth/callback"
