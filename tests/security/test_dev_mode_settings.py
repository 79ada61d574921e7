"""Which settings count as development defaults, read from the environment as a service reads it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from clientpulse.clients.settings import ClientsSettings
from clientpulse.gateway.settings import GatewaySettings
from clientpulse.insights.settings import InsightsSettings
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.settings import ServiceSettings, development_defaults_message, secrets_at_default
from clientpulse.tiering.settings import TieringSettings


@pytest.fixture(autouse=True)
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the development mode, with no secret set."""
    monkeypatch.setenv("CLIENTPULSE_DEV_MODE", "false")
    for name in ("CLIENTPULSE_IDENTITY_SECRET", "CLIENTPULSE_JWT_SECRET", "CLIENTPULSE_JWT_ALGORITHMS"):
        monkeypatch.delenv(name, raising=False)


def test_the_development_mode_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLIENTPULSE_DEV_MODE")
    assert ClientsSettings().dev_mode is False
    monkeypatch.setenv("CLIENTPULSE_DEV_MODE", "true")
    settings = ClientsSettings()
    assert settings.dev_mode is True
    assert settings.development_defaults() == ["CLIENTPULSE_IDENTITY_SECRET"]
    assert development_defaults_message(settings) is None


def test_the_message_names_every_variable_and_the_way_out() -> None:
    message = development_defaults_message(GatewaySettings())
    assert message is not None
    assert message.startswith("gateway refuses to start: CLIENTPULSE_IDENTITY_SECRET, CLIENTPULSE_JWT_SECRET hold")
    assert "CLIENTPULSE_DEV_MODE=true" in message


def test_a_service_specific_identity_secret_counts_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTPULSE_CLIENTS_IDENTITY_SECRET", "a-real-one")
    assert ClientsSettings().development_defaults() == []


def test_the_jwt_secret_matters_only_under_hs256(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTPULSE_IDENTITY_SECRET", "a-real-one")
    assert GatewaySettings().development_defaults() == ["CLIENTPULSE_JWT_SECRET"]
    monkeypatch.setenv("CLIENTPULSE_JWT_ALGORITHMS", '["RS256"]')
    monkeypatch.setenv("CLIENTPULSE_JWT_JWKS_URL", "https://id.example.com/jwks.json")
    assert GatewaySettings().development_defaults() == []


def test_a_sandbox_address_set_on_purpose_is_no_development_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "CLIENTPULSE_RESULTS_SANDBOX_URL" in ResultsSettings().development_defaults()
    monkeypatch.setenv("CLIENTPULSE_RESULTS_SANDBOX_URL", "http://127.0.0.1:9999")
    assert "CLIENTPULSE_RESULTS_SANDBOX_URL" not in ResultsSettings().development_defaults()
    monkeypatch.setenv("CLIENTPULSE_RESULTS_SANDBOX_URL", "")
    assert "CLIENTPULSE_RESULTS_SANDBOX_URL" not in ResultsSettings().development_defaults()


def test_a_secret_without_a_built_in_value_is_no_development_default() -> None:
    """Empty or absent by default (the LLM key, Productive's token): nothing known to anyone, nothing refused."""
    assert InsightsSettings().development_defaults() == ["CLIENTPULSE_IDENTITY_SECRET"]
    assert TieringSettings().development_defaults() == ["CLIENTPULSE_IDENTITY_SECRET"]


def test_a_new_secret_with_a_default_is_covered_without_further_code() -> None:
    class WithAKey(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_X_")
        api_key: SecretStr = SecretStr("built-in")

    assert WithAKey().development_defaults() == ["CLIENTPULSE_IDENTITY_SECRET", "CLIENTPULSE_X_API_KEY"]
    real = WithAKey(api_key=SecretStr("real"), identity_secret=SecretStr("real"))
    assert real.development_defaults() == []
    assert secrets_at_default(real, "CLIENTPULSE_X_") == []
