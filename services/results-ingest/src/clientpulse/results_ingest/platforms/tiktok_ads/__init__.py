"""TikTok Ads: everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import ADVERTISING_METRICS
from clientpulse.results_ingest.domain.records import CampaignStatus
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec
from clientpulse.results_ingest.platforms.tiktok_ads.auth import TikTokOAuth
from clientpulse.results_ingest.platforms.tiktok_ads.connector import MAX_DAILY_WINDOW, PLATFORM_KEY, TikTokConnector
from clientpulse.results_ingest.platforms.tiktok_ads.statuses import tiktok_status


class TikTokAdsSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__TIKTOK_ADS__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/tiktok", "authorize_url": "/tiktok/portal/auth"}

    base_url: str = "https://business-api.tiktok.com"
    authorize_url: str = "https://business-api.tiktok.com/portal/auth"
    app_id: str = "sandbox-tiktok-app"
    app_secret: SecretStr = SecretStr("sandbox-tiktok-secret")


def _connector(ctx: ConnectorContext, settings: TikTokAdsSettings, target: ConnectionTarget) -> TikTokConnector:
    return TikTokConnector(ctx, settings, target.account_id)


def _status(raw: str | None) -> CampaignStatus | None:
    """A stored raw status is the secondary status when TikTok gave one, else the switch."""
    return tiktok_status(raw, raw)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="TikTok Ads",
    settings_model=TikTokAdsSettings,
    auth=TikTokOAuth(),
    # Conversions are attributed for the attribution window (7 days is the common setting).
    reread_days=7,
    # A report with a daily breakdown covers at most 30 days.
    slice_days=MAX_DAILY_WINDOW,
    metrics=ADVERTISING_METRICS,
    campaign_status=_status,
    connector=_connector,
)
