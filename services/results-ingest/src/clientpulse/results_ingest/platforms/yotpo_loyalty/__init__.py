"""Yotpo Loyalty & Referrals: everything clientpulse knows about the platform, declared in one place.

A connection's ``account_id`` is the programme's GUID (Loyalty Settings → General), its token the
programme's API key; ``options`` carry what the API does not say: the programme's currency and time
zone (and a display name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clientpulse.results_ingest.connectors.base import ConnectorContext
from clientpulse.results_ingest.domain.catalogue import LOYALTY_METRICS
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec
from clientpulse.results_ingest.platforms.yotpo_loyalty.connector import PLATFORM_KEY, YotpoLoyaltyConnector
from clientpulse.shared.money import is_currency


class YotpoLoyaltySettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__YOTPO_LOYALTY__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/yotpo/api/v2"}

    base_url: str = "https://loyalty.yotpo.com/api/v2"
    # Customers per list page (Yotpo's examples ask for 100).
    page_size: int = Field(default=100, ge=1, le=250)


class YotpoLoyaltyOptions(BaseModel):
    """What a Yotpo Loyalty connection states because the API does not: the programme's currency
    (ISO 4217) and IANA time zone, in which its days and order amounts are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "USD"
    time_zone: str = "UTC"
    name: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not is_currency(code):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR)")
        return code

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from None
        return value


def _connector(
    ctx: ConnectorContext, settings: YotpoLoyaltySettings, target: ConnectionTarget
) -> YotpoLoyaltyConnector:
    return YotpoLoyaltyConnector(ctx, settings, target.account_id, YotpoLoyaltyOptions.model_validate(target.options))


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Yotpo Loyalty",
    settings_model=YotpoLoyaltySettings,
    auth=ApiKeyAuth(),
    # Actions can be back-dated and points taken back after refunds or cancelled redemptions: a week.
    reread_days=7,
    # Each slice reads the whole customer list once, so fewer, longer slices cost less.
    slice_days=30,
    metrics=LOYALTY_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    connection_options=YotpoLoyaltyOptions,
    reports_reach=False,
)
