"""Gorgias: everything clientpulse knows about the helpdesk, declared in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from clientpulse.results_ingest.connectors.base import ConnectorContext, PlatformError
from clientpulse.results_ingest.domain.catalogue import SUPPORT_METRICS
from clientpulse.results_ingest.platforms.gorgias.connector import PLATFORM_KEY, GorgiasConnector
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec


class GorgiasSettings(PlatformSettings):
    """``CLIENTPULSE_RESULTS_PLATFORMS__GORGIAS__*``"""

    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/gorgias/{subdomain}"}

    # Each helpdesk has its own host; ``{subdomain}`` is the connection's account id.
    base_url: str = "https://{subdomain}.gorgias.com"
    # Gorgias has no currency (no support metric is money); the account is shown in this one.
    account_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class GorgiasConnectionOptions(BaseModel):
    """What a Gorgias connection carries besides the helpdesk subdomain (the account id) and the API key."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        pattern=r"^[^@\s:]+@[^@\s:]+$",
        description="the login email of the Gorgias user who created the API key (HTTP Basic user name)",
    )


def _connector(ctx: ConnectorContext, settings: GorgiasSettings, target: ConnectionTarget) -> GorgiasConnector:
    email = target.options.get("email")
    if not email:
        raise PlatformError("a Gorgias connection needs options.email: the login email that goes with the API key")
    return GorgiasConnector(ctx, settings, target.account_id, email)


PLATFORM = PlatformSpec(
    key=PLATFORM_KEY,
    name="Gorgias",
    settings_model=GorgiasSettings,
    auth=ApiKeyAuth(),
    # Tickets close, get their first reply and are rated days after they are created: a re-read of two
    # weeks catches the usual survey answer (sent a day after closing) and late closes.
    reread_days=14,
    # A slice scans back from now to its start; 30 days keeps a redelivered slice's scan short.
    slice_days=30,
    metrics=SUPPORT_METRICS,
    campaign_status=lambda raw: None,
    connector=_connector,
    connection_options=GorgiasConnectionOptions,
    reports_reach=False,
)
