"""The whole system with the web console, and a Chromium per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_kit import CHROMIUM, model_stand_in
from harness import System, running_system


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with model_stand_in() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def console_system(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory, model: tuple[str, list[dict[str, Any]]]
) -> Iterator[System]:
    """Every service, the gateway and the console; insights asks the model stand-in."""
    env = {
        "CLIENTPULSE_INSIGHTS_LLM_BASE_URL": model[0],
        "CLIENTPULSE_INSIGHTS_LLM_MODEL": "stand-in",
        "CLIENTPULSE_INSIGHTS_LLM_RETRY_WAIT_SECONDS": "0",
        "CLIENTPULSE_INSIGHTS_LLM_MAX_ATTEMPTS": "1",
    }
    with running_system(
        postgres_admin_url, tmp_path_factory.mktemp("console"), name="web", env=env, web=True
    ) as system:
        yield system


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
