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
    # The clients and tiering services' HTTP APIs, where a relationship summary's records are read.
    clients_url: str = "http://127.0.0.1:8001"
    tiering_url: str = "http://127.0.0.1:8002"
    records_timeout_seconds: float = Field(default=5.0, gt=0)
    # Any OpenAI-compatible endpoint (``{base}/chat/completions``); empty: the deterministic analyzer only.
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = Field(default="", max_length=120)
    # One request's timeout, and the time all attempts of one call may take together (429 and 5xx are retried
    # while it lasts, waiting what ``Retry-After`` names when it fits).
    llm_timeout_seconds: float = Field(default=15.0, gt=0)
    llm_deadline_seconds: float = Field(default=18.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_retry_wait_seconds: float = Field(default=1.0, ge=0)
    # Spending caps in tokens (prompt + completion) per UTC day: per client, and over every client.
    llm_daily_tokens_per_client: int = Field(default=200_000, ge=0)
    llm_daily_tokens_total: int = Field(default=5_000_000, ge=0)
    # Questions: how many rounds of tool calls the model may make before it must answer.
    ask_max_tool_rounds: int = Field(default=4, ge=1, le=10)
    # A burst of significant events makes one summary: it is written once no such event came for this long.
    summary_quiet_seconds: float = Field(default=20.0, ge=0)
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
        # A summary reads its records concurrently, then asks the model: the same bound holds.
        model = max(self.llm_timeout_seconds, self.llm_deadline_seconds) if self.llm_enabled else 0.0
        worst_case = max(2 * self.results_timeout_seconds, self.records_timeout_seconds) + model
        if worst_case >= self.consumer_ack_wait:
            raise ValueError(
                "twice CLIENTPULSE_INSIGHTS_RESULTS_TIMEOUT_SECONDS plus CLIENTPULSE_INSIGHTS_LLM_TIMEOUT_SECONDS "
                f"(or _LLM_DEADLINE_SECONDS) ({worst_case:g}s) must stay below the consumer ack wait "
                f"({self.consumer_ack_wait:g}s); lower them or raise CLIENTPULSE_INSIGHTS_CONSUMER_ACK_WAIT"
            )
        return self
