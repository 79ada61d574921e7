"""Klaviyo: everything clientpulse knows about the platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import EMAIL_METRICS
from clientpulse.results_ingest.platforms.klaviyo.connector import PLATFORM_KEY, KlaviyoConnector
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec


class KlaviyoSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__KLAVIYO__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/klaviyo"}

    base_url: str = "https://a.klaviyo.com"
    # The API revision every request names (Klaviyo's ``revision`` header): request and answer shapes
    # are those of this revision; a revision is supported for two years after its release.
    revision: str = Field(default="2026-04-15", pattern=r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


class KlaviyoConnectionOptions(BaseModel):
    """What a Klaviyo connection carries besides the account and its private key."""

    model_config = ConfigDict(extra="forbid")

    conversion_metric_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]+$",
        description='the metric conversions and revenue are counted with (default: the account\'s "Placed Order")',
    )


def _connector(ctx: ConnectorContext, settings: KlaviyoSettings, target: ConnectionTarget) -> KlaviyoConnector:
    return KlaviyoConnector(ctx, settings, target.account_id, target.options)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Klaviyo",
    settings_model=KlaviyoSettings,
    auth=ApiKeyAuth(),
    # Orders are attributed to an email for the account's attribution window after it is sent (5 days by
    # Klaviyo's default) and order events arrive late from the store: a week covers both.
    reread_days=7,
    # Two report requests per slice (campaign values, flow series) stay within the 2-a-minute limit.
    slice_days=30,
    metrics=EMAIL_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    connection_options=KlaviyoConnectionOptions,
    reports_reach=False,
)
