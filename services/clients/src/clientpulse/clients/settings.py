"""Settings of the clients service (``CLIENTPULSE_CLIENTS_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class ClientsSettings(ServiceSettings):
    """The clients service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_CLIENTS_", extra="ignore")

    service_name: str = "clients"
    port: int = 8001
