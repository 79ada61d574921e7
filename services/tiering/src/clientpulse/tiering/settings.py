"""Settings of the tiering service (``CLIENTPULSE_TIERING_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class TieringSettings(ServiceSettings):
    """The tiering service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_TIERING_", extra="ignore")

    service_name: str = "tiering"
    port: int = 8002
