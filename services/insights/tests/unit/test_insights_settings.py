"""The model is optional and configured by environment; its key is a secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from clientpulse.insights.settings import InsightsSettings


def test_the_embedded_default_reads_the_local_results_api_and_asks_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "MODEL", "API_KEY"):
        monkeypatch.delenv(f"CLIENTPULSE_INSIGHTS_LLM_{name}", raising=False)
    monkeypatch.delenv("CLIENTPULSE_INSIGHTS_RESULTS_URL", raising=False)
    settings = InsightsSettings()
    assert (settings.results_url, settings.llm_enabled) == ("http://127.0.0.1:8003", False)


def test_a_model_is_configured_by_environment_and_its_key_stays_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTPULSE_INSIGHTS_LLM_BASE_URL", "https://llm.example/v1")
    monkeypatch.setenv("CLIENTPULSE_INSIGHTS_LLM_MODEL", "kimi-k2.5")
    monkeypatch.setenv("CLIENTPULSE_INSIGHTS_LLM_API_KEY", "sk-very-secret")
    settings = InsightsSettings()
    assert settings.llm_enabled and settings.llm_model == "kimi-k2.5"
    assert settings.llm_api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())


def test_a_model_without_a_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="CLIENTPULSE_INSIGHTS_LLM_MODEL is required"):
        InsightsSettings(llm_base_url="https://llm.example/v1", llm_model="")


def test_timeouts_must_fit_in_the_ack_wait() -> None:
    with pytest.raises(ValidationError, match="must stay below the consumer ack wait"):
        InsightsSettings(llm_base_url="https://llm.example/v1", llm_model="m", llm_timeout_seconds=25.0)
    assert InsightsSettings(llm_base_url="https://llm.example/v1", llm_model="m").llm_timeout_seconds == 15.0
