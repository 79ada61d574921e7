"""Google's OAuth 2 for the GA4 Data and Admin APIs: authorization code with PKCE, offline access
(``access_type=offline``, ``prompt=consent`` so a refresh token is issued every time), read-only scope.

The token endpoint is Google's own, shared with Google Ads: its answers are read the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    Credentials,
    ReconnectRequired,
    call_with_retries,
)
from clientpulse.results_ingest.platforms.google_ads.connector import interpret_token_answer
from clientpulse.results_ingest.platforms.google_oauth import google_authorization_url
from clientpulse.results_ingest.platforms.spec import OAuth

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.ga4 import GA4Settings

PLATFORM_KEY = "ga4"
SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
# Google's access tokens last an hour when the answer does not say.
DEFAULT_ACCESS_SECONDS = 3599


async def _token_request(ctx: ConnectorContext, settings: GA4Settings, form: dict[str, str], what: str) -> Any:
    form = {**form, "client_id": settings.client_id, "client_secret": settings.client_secret.get_secret_value()}

    async def send() -> httpx.Response:
        return await ctx.http.post(settings.token_url, data=form)

    return await call_with_retries(ctx, send, interpret_token_answer, None, what=what, platform=PLATFORM_KEY)


def _credentials(ctx: ConnectorContext, body: dict[str, Any], refresh_token: str | None) -> Credentials:
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or refresh_token,
        expires_at=ctx.clock.now() + timedelta(seconds=int(body.get("expires_in") or DEFAULT_ACCESS_SECONDS)),
    )


async def refresh_access_token(ctx: ConnectorContext, settings: GA4Settings, credentials: Credentials) -> Credentials:
    """A new access token for the refresh token (Google keeps the refresh token as it is)."""
    if not credentials.refresh_token:
        raise ReconnectRequired("the Google Analytics access token expired and there is no refresh token")
    body = await _token_request(
        ctx,
        settings,
        {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
        "Google Analytics token refresh",
    )
    return _credentials(ctx, body, credentials.refresh_token)


class GA4OAuth(OAuth["GA4Settings"]):
    """Authorization code with PKCE (S256) for read-only Analytics access; the refresh token does not rotate."""

    pkce = True
    refreshes = True
    # Access tokens last an hour: renew a little before, rather than after a refused request.
    renew_ahead = timedelta(minutes=5)

    def authorization_url(
        self, settings: GA4Settings, *, state: str, redirect_uri: str, code_challenge: str | None, account_id: str
    ) -> str:
        return google_authorization_url(
            settings.authorize_url,
            client_id=settings.client_id,
            scope=SCOPE,
            state=state,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
        )

    async def exchange_code(
        self,
        ctx: ConnectorContext,
        settings: GA4Settings,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
        account_id: str,
    ) -> Credentials:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier:
            form["code_verifier"] = verifier
        body = await _token_request(ctx, settings, form, "Google Analytics code exchange")
        return _credentials(ctx, body, None)

    async def renew(self, ctx: ConnectorContext, settings: GA4Settings, credentials: Credentials) -> Credentials:
        return await refresh_access_token(ctx, settings, credentials)
