"""Recharge: everything clientpulse knows about the subscription platform, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import SUBSCRIPTION_METRICS
from clientpulse.results_ingest.platforms.recharge.connector import PLATFORM_KEY, RechargeConnector
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec


class RechargeSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__RECHARGE__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/recharge"}

    base_url: str = "https://api.rechargeapps.com"
    # The API version every request names (X-Recharge-Version): the record shapes parsed here are 2021-11's.
    api_version: str = "2021-11"
    # Records per page (Recharge allows at most 250).
    page_size: int = 250
    # Each token's request bucket: its size and how many requests leak out per second.
    bucket_size: int = 40
    leak_per_second: float = 2.0


def _connector(ctx: ConnectorContext, settings: RechargeSettings, target: ConnectionTarget) -> RechargeConnector:
    return RechargeConnector(ctx, settings, target.account_id)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Recharge",
    settings_model=RechargeSettings,
    auth=ApiKeyAuth(),
    # Charges are refunded and failed charges retried in the days after; a cancelled subscription
    # that is reactivated loses its cancellation: the last week is read again.
    reread_days=7,
    # Each slice reads every active subscription once, so a slice is a month rather than a few days.
    slice_days=30,
    metrics=SUBSCRIPTION_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    reports_reach=False,
)
