"""Shopify: everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import STORE_METRICS
from clientpulse.results_ingest.platforms.shopify.auth import ShopifyOAuth
from clientpulse.results_ingest.platforms.shopify.connector import PLATFORM_KEY, ShopifyConnector
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec


class ShopifySettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__SHOPIFY__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"shop_url": "/shopify/{shop}"}

    # Each shop is its own host; ``{shop}`` is the connection's account id (the shop's handle).
    shop_url: str = "https://{shop}.myshopify.com"
    # The Admin API version asked for (Shopify supports each stable version for a year).
    api_version: str = "2025-10"
    client_id: str = "sandbox-shopify-client"
    client_secret: SecretStr = SecretStr("sandbox-shopify-secret")

    def shop_root(self, shop: str) -> str:
        """The root URL of a shop's Admin API and OAuth endpoints."""
        return self.shop_url.replace("{shop}", shop).rstrip("/")


def _connector(ctx: ConnectorContext, settings: ShopifySettings, target: ConnectionTarget) -> ShopifyConnector:
    return ShopifyConnector(ctx, settings, target.account_id)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Shopify",
    settings_model=ShopifySettings,
    auth=ShopifyOAuth(),
    # Refunds and cancellations are booked on their own day, so an old day changes only when an order
    # is edited or cancelled (which takes it out of the day's order count): most happen within a month.
    reread_days=30,
    # One slice reads the orders touched since its start; 30 days keeps a slice's pages bounded.
    slice_days=30,
    metrics=STORE_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    reports_reach=False,
)
