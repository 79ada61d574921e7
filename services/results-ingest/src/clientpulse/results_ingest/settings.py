"""Settings of the results-ingest service (``CLIENTPULSE_RESULTS_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class ResultsSettings(ServiceSettings):
    """The results-ingest service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_RESULTS_", extra="ignore")

    service_name: str = "results-ingest"
    port: int = 8003
