"""The insights service's Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from clientpulse.insights import metrics  # noqa: F401 - registers the metrics (every label value) at start
from clientpulse.insights.api.analysis import AnalysisController
from clientpulse.insights.events import handlers
from clientpulse.insights.llm import DeterministicProse, ModelProse, ProseWriter
from clientpulse.insights.results_api import ResultsApi
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def prose_writer(settings: InsightsSettings, http: httpx.AsyncClient) -> ProseWriter:
    """The configured model, or the deterministic analyzer's own prose (the embedded default)."""
    if not settings.llm_enabled:
        return DeterministicProse()
    return ModelProse(
        settings.llm_base_url,
        model=settings.llm_model.strip(),
        api_key=settings.llm_api_key.get_secret_value(),
        timeout=settings.llm_timeout_seconds,
        http=http,
    )


def _closing(http: httpx.AsyncClient) -> Callable[[Litestar], Any]:
    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await http.aclose()

    return lifespan


def create_app(settings: InsightsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    settings = settings or InsightsSettings()
    runtime = build_runtime(settings, migrations=MIGRATIONS, publishes=[Stream.INSIGHTS])
    http = httpx.AsyncClient(follow_redirects=False)
    results = ResultsApi(
        settings.results_url,
        identity_secret=settings.identity_secret.get_secret_value(),
        http=http,
        timeout=settings.results_timeout_seconds,
    )
    deps = handlers.AnalysisDeps(results=results, prose=prose_writer(settings, http), thresholds=settings.thresholds)
    handlers.register(runtime.bus, deps)
    return create_service_app(
        runtime,
        route_handlers=[AnalysisController],
        title="clientpulse insights",
        description="Weekly structured analysis, relationship summaries and natural-language questions.",
        lifespan=[_closing(http)],
    )
