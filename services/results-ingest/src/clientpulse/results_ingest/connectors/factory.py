"""Build the connector of a connection from the service's settings."""

from __future__ import annotations

import logging

import httpx

from clientpulse.results_ingest.connectors.base import (
    AdConnector,
    ConnectorContext,
    Credentials,
    Exclusive,
    OnRefresh,
    RetryPolicy,
)
from clientpulse.results_ingest.connectors.google_ads import GoogleAdsConnector
from clientpulse.results_ingest.connectors.meta import MetaConnector
from clientpulse.results_ingest.connectors.tiktok import TikTokConnector
from clientpulse.results_ingest.domain.platforms import Platform
from clientpulse.results_ingest.settings import ResultsSettings

AD_PLATFORMS = (Platform.META_ADS, Platform.GOOGLE_ADS, Platform.TIKTOK_ADS)


def retry_policy(settings: ResultsSettings) -> RetryPolicy:
    """The per-request retry policy from settings."""
    return RetryPolicy(
        attempts=settings.max_retries, base_wait=settings.retry_base_wait, max_wait=settings.max_retry_wait
    )


def build_connector(
    settings: ResultsSettings,
    platform: Platform,
    account_id: str,
    http: httpx.AsyncClient,
    credentials: Credentials,
    on_refresh: OnRefresh | None = None,
    exclusive: Exclusive | None = None,
) -> AdConnector:
    """The connector for one platform account."""
    ctx = ConnectorContext(
        http=http, credentials=credentials, policy=retry_policy(settings), on_refresh=on_refresh, exclusive=exclusive
    )
    if platform is Platform.META_ADS:
        return MetaConnector(
            ctx, base_url=settings.meta_base_url, api_version=settings.meta_api_version, account_id=account_id
        )
    if platform is Platform.GOOGLE_ADS:
        return GoogleAdsConnector(
            ctx,
            base_url=settings.google_ads_base_url,
            api_version=settings.google_ads_api_version,
            customer_id=account_id,
            developer_token=settings.google_developer_token.get_secret_value(),
            token_url=settings.google_oauth_token_url,
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
        )
    if platform is Platform.TIKTOK_ADS:
        return TikTokConnector(
            ctx,
            base_url=settings.tiktok_base_url,
            advertiser_id=account_id,
            app_id=settings.tiktok_app_id,
            secret=settings.tiktok_app_secret.get_secret_value(),
        )
    raise ValueError(f"no connector for {platform.value} yet")


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO; platform URLs may carry tokens (Meta's paging links do)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def http_client(settings: ResultsSettings) -> httpx.AsyncClient:
    """The HTTP client connectors share (one connection pool per process)."""
    return httpx.AsyncClient(timeout=settings.http_timeout, limits=httpx.Limits(max_connections=50))
