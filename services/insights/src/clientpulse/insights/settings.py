"""Settings of the insights service (``CLIENTPULSE_INSIGHTS_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    """The insights service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_INSIGHTS_", extra="ignore")

    service_name: str = "insights"
    port: int = 8004
