"""Settings of the tiering service (``CLIENTPULSE_TIERING_*``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.money import ExchangeRate, RateTable
from clientpulse.shared.settings import ServiceSettings


class RateSetting(BaseModel):
    """``{"currency": "USD", "valid_from": "2026-01-01", "rate": "0.92"}``: base units per one USD."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    valid_from: date
    rate: Decimal = Field(gt=0)


class TieringSettings(ServiceSettings):
    """The tiering service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_TIERING_", extra="ignore")

    service_name: str = "tiering"
    port: int = 8002
    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    # JSON in the environment: CLIENTPULSE_TIERING_EXCHANGE_RATES='[{"currency":"USD",...}]'
    exchange_rates: list[RateSetting] = Field(default_factory=list)
    # The Productive API, asked for a client's invoices when the ledger has none (unset: no fallback).
    productive_base_url: str | None = None  # e.g. https://api.productive.io/api/v2
    productive_token: SecretStr | None = None
    productive_organization_id: str | None = None
    productive_page_size: int = Field(default=200, ge=1, le=200)
    productive_max_retries: int = Field(default=5, ge=0)
    productive_timeout: float = 10.0

    def rate_table(self) -> RateTable:
        """The configured rates as a conversion table."""
        return RateTable(
            self.base_currency, [ExchangeRate(r.currency, r.valid_from, r.rate) for r in self.exchange_rates]
        )
