"""GA4 (Google Analytics 4): everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field, SecretStr

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import TRAFFIC_METRICS
from clientpulse.results_ingest.platforms.ga4.auth import PLATFORM_KEY, GA4OAuth
from clientpulse.results_ingest.platforms.ga4.connector import DAILY_REPORT_DAYS, GA4Connector
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec


class GA4Settings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__GA4__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {
        "data_url": "/ga4/data",
        "admin_url": "/ga4/admin",
        "token_url": "/ga4/oauth/token",
        "authorize_url": "/ga4/oauth/auth",
    }

    data_url: str = "https://analyticsdata.googleapis.com"
    admin_url: str = "https://analyticsadmin.googleapis.com"
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
    authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    client_id: str = "sandbox-google-client"
    client_secret: SecretStr = SecretStr("sandbox-google-secret")
    # Rows per report page (GA4 answers at most 250,000; 10,000 is its default).
    page_size: int = Field(default=10_000, ge=1, le=250_000)
    # Share of each token quota (daily, hourly, per project per hour) left untouched: below it, the
    # property's reports wait until the quota returns, so the client's own dashboards on the same
    # property keep working. 5 % is 10,000 of a standard property's 200,000 daily tokens and 2,000
    # of its 40,000 hourly ones (most reports cost fewer than ten tokens).
    quota_reserve_share: float = Field(default=0.05, ge=0, lt=1)


def _connector(ctx: ConnectorContext, settings: GA4Settings, target: ConnectionTarget) -> GA4Connector:
    return GA4Connector(ctx, settings, target.account_id)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Google Analytics 4",
    settings_model=GA4Settings,
    auth=GA4OAuth(),
    # GA4 processes a day's events over 24-48 hours and still accepts events sent up to 72 hours
    # late (later ones are dropped): the last three days may still change, older ones do not.
    reread_days=3,
    # One daily report (one request plus its pages) per slice.
    slice_days=DAILY_REPORT_DAYS,
    metrics=TRAFFIC_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    reports_reach=False,
)
