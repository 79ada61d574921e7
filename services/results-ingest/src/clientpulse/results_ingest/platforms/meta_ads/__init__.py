"""Meta Ads: everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field, SecretStr

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import ADVERTISING_METRICS
from clientpulse.results_ingest.platforms.meta_ads.auth import MetaOAuth
from clientpulse.results_ingest.platforms.meta_ads.connector import PLATFORM_KEY, MetaConnector
from clientpulse.results_ingest.platforms.meta_ads.statuses import meta_status
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec


class MetaAdsSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__META_ADS__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/meta", "authorize_url": "/meta/dialog/oauth"}

    base_url: str = "https://graph.facebook.com"
    authorize_url: str = "https://www.facebook.com/v25.0/dialog/oauth"
    api_version: str = "v25.0"
    app_id: str = "sandbox-meta-app"
    app_secret: SecretStr = SecretStr("sandbox-meta-secret")
    scopes: str = "ads_read"
    # The app's usage (percent of its limit, from x-app-usage) at which every Meta call pauses.
    app_usage_pause_at: float = Field(default=95.0, gt=0, le=100)
    # How long the app-wide pause lasts when Meta names no time (its usage is a rolling hour).
    app_pause_seconds: int = Field(default=300, ge=1)


def _connector(ctx: ConnectorContext, settings: MetaAdsSettings, target: ConnectionTarget) -> MetaConnector:
    return MetaConnector(ctx, settings, target.account_id)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Meta Ads",
    settings_model=MetaAdsSettings,
    auth=MetaOAuth(),
    # Meta freezes insights 28 days after the fact.
    reread_days=28,
    # Small slices answer faster and repeat little when one is redelivered.
    slice_days=7,
    metrics=ADVERTISING_METRICS,
    campaign_status=meta_status,
    connector=_connector,
)
