"""Google Ads: everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import ADVERTISING_METRICS
from clientpulse.results_ingest.platforms.google_ads.auth import GoogleOAuth
from clientpulse.results_ingest.platforms.google_ads.connector import PLATFORM_KEY, GoogleAdsConnector
from clientpulse.results_ingest.platforms.google_ads.statuses import google_status
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec

CUSTOMER_ID = r"^\d{3}-?\d{3}-?\d{4}$"


class GoogleAdsSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__GOOGLE_ADS__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {
        "base_url": "/google-ads",
        "token_url": "/google-oauth/token",
        "authorize_url": "/google-oauth/auth",
    }

    base_url: str = "https://googleads.googleapis.com"
    api_version: str = "v21"
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
    authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    client_id: str = "sandbox-google-client"
    client_secret: SecretStr = SecretStr("sandbox-google-secret")
    developer_token: SecretStr = SecretStr("sandbox-developer-token")
    # The agency's manager account, used for connections that name none of their own.
    login_customer_id: str | None = Field(default=None, pattern=CUSTOMER_ID)


class GoogleAdsConnectionOptions(BaseModel):
    """What a Google Ads connection carries besides the account."""

    model_config = ConfigDict(extra="forbid")

    login_customer_id: str | None = Field(
        default=None,
        pattern=CUSTOMER_ID,
        description="the manager account the client account is reached through (sent as login-customer-id)",
    )


def _connector(ctx: ConnectorContext, settings: GoogleAdsSettings, target: ConnectionTarget) -> GoogleAdsConnector:
    return GoogleAdsConnector(ctx, settings, target.account_id, target.options.get("login_customer_id"))


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Google Ads",
    settings_model=GoogleAdsSettings,
    auth=GoogleOAuth(),
    # Conversions restate for the conversion window (14 days by default).
    reread_days=14,
    # searchStream takes any range; 30 days keeps a redelivered slice small.
    slice_days=30,
    metrics=ADVERTISING_METRICS,
    campaign_status=google_status,
    connector=_connector,
    connection_options=GoogleAdsConnectionOptions,
)
