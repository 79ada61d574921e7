"""TikTok's advertiser authorization: ``auth_code`` → access and refresh tokens (the refresh token rotates)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from clientpulse.results_ingest.connectors.base import ConnectorContext, Credentials
from clientpulse.results_ingest.platforms.spec import OAuth
from clientpulse.results_ingest.platforms.tiktok_ads.connector import refresh_tokens, token_request

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.tiktok_ads import TikTokAdsSettings


class TikTokOAuth(OAuth["TikTokAdsSettings"]):
    """The advertiser authorization page and the v1.3 token endpoints."""

    refreshes = True
    renew_ahead = timedelta(hours=1)

    def authorization_url(
        self,
        settings: TikTokAdsSettings,
        *,
        state: str,
        redirect_uri: str,
        code_challenge: str | None,
        account_id: str,
    ) -> str:
        params = {"app_id": settings.app_id, "redirect_uri": redirect_uri, "state": state}
        return f"{settings.authorize_url}?{urlencode(params)}"

    async def exchange_code(
        self,
        ctx: ConnectorContext,
        settings: TikTokAdsSettings,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
        account_id: str,
    ) -> Credentials:
        return await token_request(ctx, settings, "access_token", {"auth_code": code}, "TikTok code exchange")

    async def renew(self, ctx: ConnectorContext, settings: TikTokAdsSettings, credentials: Credentials) -> Credentials:
        return await refresh_tokens(ctx, settings, credentials)
