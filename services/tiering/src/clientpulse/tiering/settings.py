"""Settings of the tiering service (``CLIENTPULSE_TIERING_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ExchangeRateSettings, ServiceSettings


class TieringSettings(ServiceSettings, ExchangeRateSettings):
    """The tiering service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_TIERING_", extra="ignore")

    service_name: str = "tiering"
    port: int = 8002
    # The Productive API, asked for a client's invoices when the ledger has none (unset: no fallback).
    productive_base_url: str | None = None  # e.g. https://api.productive.io/api/v2
    productive_token: SecretStr | None = None
    productive_organization_id: str | None = None
    productive_page_size: int = Field(default=200, ge=1, le=200)
    productive_max_retries: int = Field(default=5, ge=0)
    productive_timeout: float = 10.0
