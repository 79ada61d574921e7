"""Google's OAuth 2 for web server apps: authorization code with PKCE, offline access, refresh tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from clientpulse.results_ingest.connectors.base import ConnectorContext, Credentials, call_with_retries
from clientpulse.results_ingest.platforms.google_ads.connector import (
    PLATFORM_KEY,
    interpret_token_answer,
    refresh_access_token,
)
from clientpulse.results_ingest.platforms.google_oauth import google_authorization_url
from clientpulse.results_ingest.platforms.spec import OAuth

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.google_ads import GoogleAdsSettings

SCOPE = "https://www.googleapis.com/auth/adwords"


class GoogleOAuth(OAuth["GoogleAdsSettings"]):
    """Authorization code with PKCE (S256); the refresh token does not rotate."""

    pkce = True
    # Access tokens last an hour: renew a little before, rather than after a refused request.
    refreshes = True
    renew_ahead = timedelta(minutes=5)

    def authorization_url(
        self,
        settings: GoogleAdsSettings,
        *,
        state: str,
        redirect_uri: str,
        code_challenge: str | None,
        account_id: str,
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
        settings: GoogleAdsSettings,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
        account_id: str,
    ) -> Credentials:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
        }
        if verifier:
            form["code_verifier"] = verifier

        async def send() -> httpx.Response:
            return await ctx.http.post(settings.token_url, data=form)

        body = await call_with_retries(
            ctx, send, interpret_token_answer, None, what="Google code exchange", platform=PLATFORM_KEY
        )
        expires_in = body.get("expires_in")
        return Credentials(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=ctx.clock.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
        )

    async def renew(self, ctx: ConnectorContext, settings: GoogleAdsSettings, credentials: Credentials) -> Credentials:
        return await refresh_access_token(ctx, settings, credentials)
