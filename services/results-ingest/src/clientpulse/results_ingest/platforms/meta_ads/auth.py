"""Meta's Facebook Login for Business: code → short-lived user token → long-lived token (≈60 days).

A long-lived *user* token cannot be extended: exchanging it again returns the same expiry, and a
person must log in again before it ends (the DM is told ahead). A system user's expiring token
is renewed by the same exchange for another 60 days. There are no refresh tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    Credentials,
    Misconfigured,
    PlatformError,
    ReconnectRequired,
    Throttled,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
)
from clientpulse.results_ingest.platforms.spec import OAuth

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.meta_ads import MetaAdsSettings

# Graph API codes of a token endpoint's refusal: a dead grant, our app's own configuration.
DEAD_GRANT_CODES = frozenset({190})
APP_CONFIGURATION_CODES = frozenset({101, 1})
THROTTLE_CODES = frozenset({4, 17, 32, 613})


def interpret_token_answer(response: httpx.Response) -> dict[str, Any]:
    """The token endpoint's body, or what its refusal means (only a dead grant needs a person)."""
    if response.status_code == 429:
        raise Throttled("Meta token endpoint answered 429", retry_after_seconds(response), signal="token_http_429")
    if response.status_code >= 500:
        raise Transient(f"Meta token endpoint answered {response.status_code}")
    body = json_body(response, "Meta token endpoint")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code"), f"Meta: {error.get('message', 'token request refused')}"
        if code in DEAD_GRANT_CODES:
            raise ReconnectRequired(message)
        if code in APP_CONFIGURATION_CODES:
            raise Misconfigured(message)
        if code in THROTTLE_CODES:
            raise Throttled(message, None, signal=f"meta_{code}")
        raise PlatformError(message)
    if response.status_code >= 400 or not isinstance(body, dict) or "access_token" not in body:
        raise PlatformError(f"Meta token endpoint answered {response.status_code} without a token")
    return body


class MetaOAuth(OAuth["MetaAdsSettings"]):
    """Facebook Login's code flow and the long-lived token exchange."""

    # Long-lived tokens last about 60 days; renewal is tried in the last two weeks (daily syncs).
    renew_ahead = timedelta(days=14)

    def authorization_url(
        self, settings: MetaAdsSettings, *, state: str, redirect_uri: str, code_challenge: str | None, account_id: str
    ) -> str:
        params = {"client_id": settings.app_id, "redirect_uri": redirect_uri, "state": state, "scope": settings.scopes}
        return f"{settings.authorize_url}?{urlencode(params)}"

    async def _token(self, ctx: ConnectorContext, settings: MetaAdsSettings, params: dict[str, str]) -> Credentials:
        url = f"{settings.base_url.rstrip('/')}/{settings.api_version}/oauth/access_token"
        query = {"client_id": settings.app_id, "client_secret": settings.app_secret.get_secret_value(), **params}

        async def send() -> httpx.Response:
            return await ctx.http.get(url, params=query)

        body = await call_with_retries(
            ctx, send, interpret_token_answer, None, what="Meta token exchange", platform="meta_ads"
        )
        expires_in = body.get("expires_in")
        return Credentials(
            access_token=str(body["access_token"]),
            expires_at=ctx.clock.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
        )

    async def exchange_code(
        self,
        ctx: ConnectorContext,
        settings: MetaAdsSettings,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
        account_id: str,
    ) -> Credentials:
        short = await self._token(ctx, settings, {"redirect_uri": redirect_uri, "code": code})
        # The code is worth a token of an hour or two: exchange it at once for the long-lived one.
        return await self.renew(ctx, settings, short)

    async def adopt(self, ctx: ConnectorContext, settings: MetaAdsSettings, credentials: Credentials) -> Credentials:
        # A pasted user token may be short-lived, and its end is unknown: the exchange answers both.
        return await self.renew(ctx, settings, credentials)

    async def renew(self, ctx: ConnectorContext, settings: MetaAdsSettings, credentials: Credentials) -> Credentials:
        return await self._token(
            ctx, settings, {"grant_type": "fb_exchange_token", "fb_exchange_token": credentials.access_token}
        )
