"""Settings of the insights service (``CLIENTPULSE_INSIGHTS_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clientpulse.insights.domain.thresholds import AnalysisThresholds
from clientpulse.shared.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    """The insights service's settings; defaults run the embedded mode (deterministic analyzer, no model)."""

    # Nested settings by ``__``: ``CLIENTPULSE_INSIGHTS_THRESHOLDS__FATIGUE_FREQUENCY=2.5``.
    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_INSIGHTS_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "insights"
    port: int = 8004
    # The results-ingest service's HTTP API, where the campaign table of a week is read.
    results_url: str = "http://127.0.0.1:8003"
    results_timeout_seconds: float = Field(default=5.0, gt=0)
    # Any OpenAI-compatible endpoint (``{base}/chat/completions``); empty: the deterministic analyzer only.
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = Field(default="", max_length=120)
    llm_timeout_seconds: float = Field(default=15.0, gt=0)
    # The thresholds of the weekly analysis's rules (docs/domain-rules.md, "AI analysis").
    thresholds: AnalysisThresholds = AnalysisThresholds()

    @property
    def llm_enabled(self) -> bool:
        """True when a model writes the prose of each analysis."""
        return bool(self.llm_base_url.strip())

    @model_validator(mode="after")
    def _model_named_and_answering_in_time(self) -> InsightsSettings:
        if self.llm_enabled and not self.llm_model.strip():
            raise ValueError("CLIENTPULSE_INSIGHTS_LLM_MODEL is required when CLIENTPULSE_INSIGHTS_LLM_BASE_URL is set")
        # A client's analysis reads two weeks of results and asks the model inside the consumer's unit of
        # work: taking longer than the ack wait would have JetStream hand the message to another worker.
        worst_case = 2 * self.results_timeout_seconds + (self.llm_timeout_seconds if self.llm_enabled else 0.0)
        if worst_case >= self.consumer_ack_wait:
            raise ValueError(
                "twice CLIENTPULSE_INSIGHTS_RESULTS_TIMEOUT_SECONDS plus CLIENTPULSE_INSIGHTS_LLM_TIMEOUT_SECONDS "
                f"({worst_case:g}s) must stay below the consumer ack wait ({self.consumer_ack_wait:g}s); lower them "
                "or raise CLIENTPULSE_INSIGHTS_CONSUMER_ACK_WAIT"
            )
        return self
