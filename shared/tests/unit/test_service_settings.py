"""Settings every service shares: one ``CLIENTPULSE_*`` variable configures them all, a service's own
prefix wins, and the database pool follows its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientpulse.shared.service import build_runtime
from clientpulse.shared.settings import ServiceSettings


class OneServiceSettings(ServiceSettings):
    model_config = {**ServiceSettings.model_config, "env_prefix": "CLIENTPULSE_ONE_"}


def test_the_pool_size_is_shared_and_a_services_own_prefix_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTPULSE_DATABASE_POOL_SIZE", "7")
    assert OneServiceSettings().database_pool_size == 7
    monkeypatch.setenv("CLIENTPULSE_ONE_DATABASE_POOL_SIZE", "12")
    assert OneServiceSettings().database_pool_size == 12


def test_the_database_of_a_service_keeps_its_pool_size(tmp_path: Path) -> None:
    settings = OneServiceSettings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", database_pool_size=4, log_json=False
    )
    runtime = build_runtime(settings, migrations=tmp_path)
    assert runtime.database.engine.pool.size() == 4  # type: ignore[attr-defined]
