"""Shopify's OAuth (authorization code grant) with expiring offline access tokens.

The code exchange asks for an expiring offline token (``expiring: 1``): an access token living an
hour and a refresh token. Every refresh returns a new refresh token and spends the old one, so the
new pair is stored before it is used. Shopify's token endpoint belongs to the shop
(``https://{shop}.myshopify.com/admin/oauth/access_token``): exchanging a code needs the shop's handle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from clientpulse.results_ingest.connectors.base import ConnectorContext, Credentials
from clientpulse.results_ingest.platforms.shopify.connector import ALL_ORDERS_SCOPE, credentials_from, token_request
from clientpulse.results_ingest.platforms.spec import OAuth

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.shopify import ShopifySettings

# Orders (and their refunds) of the whole history: read_all_orders lifts the 60-day limit.
SCOPES = ("read_orders", ALL_ORDERS_SCOPE)


class ShopifyOAuth(OAuth["ShopifySettings"]):
    """The shop's authorize page and token endpoint; offline tokens that expire and rotating refresh tokens.

    Renewal happens in the connector, which knows the shop (the token endpoint is the shop's own):
    before a request when the access token ends within minutes, and when Shopify answers 401.
    """

    refreshes = True

    def authorization_url(
        self,
        settings: ShopifySettings,
        *,
        state: str,
        redirect_uri: str,
        code_challenge: str | None,
        account_id: str,
    ) -> str:
        params = {
            "client_id": settings.client_id,
            "scope": ",".join(SCOPES),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{settings.shop_root(account_id)}/admin/oauth/authorize?{urlencode(params)}"

    async def exchange_code(
        self,
        ctx: ConnectorContext,
        settings: ShopifySettings,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
        account_id: str,
    ) -> Credentials:
        return await exchange_code_for_shop(ctx, settings, account_id, code)


async def exchange_code_for_shop(ctx: ConnectorContext, settings: ShopifySettings, shop: str, code: str) -> Credentials:
    """The expiring offline token and refresh token an authorization code of ``shop`` is worth."""
    body = await token_request(ctx, settings, shop, {"code": code, "expiring": 1}, "Shopify code exchange")
    return credentials_from(body, ctx.clock.now())
