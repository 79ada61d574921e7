"""The insights service's Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar

from clientpulse.insights import metrics  # noqa: F401 - registers the metrics (every label value) at start
from clientpulse.insights.api.analysis import AnalysisController
from clientpulse.insights.api.creatives import CreativeInsightsController
from clientpulse.insights.api.deps import InsightsWiring
from clientpulse.insights.api.questions import QuestionController
from clientpulse.insights.api.summary import SummaryController
from clientpulse.insights.chat import ChatLimits, ChatModel
from clientpulse.insights.creative_review import CreativeReviewer
from clientpulse.insights.db.repositories.model_spending import DailyTokenCaps
from clientpulse.insights.events import handlers
from clientpulse.insights.events.summaries import SummaryDeps, register_summaries
from clientpulse.insights.llm import DeterministicProse, DeterministicSummaries, ModelProse, ModelSummaries
from clientpulse.insights.relationship_api import RelationshipApi
from clientpulse.insights.results_api import ResultsApi
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.db import Database
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def chat_model(settings: InsightsSettings, http: httpx.AsyncClient, database: Database) -> ChatModel | None:
    """The configured model with its limits and spending caps; None in the embedded default (no model)."""
    if not settings.llm_enabled:
        return None
    return ChatModel(
        settings.llm_base_url,
        model=settings.llm_model.strip(),
        api_key=settings.llm_api_key.get_secret_value(),
        http=http,
        ledger=DailyTokenCaps(
            database, per_client=settings.llm_daily_tokens_per_client, total=settings.llm_daily_tokens_total
        ),
        limits=ChatLimits(
            timeout=settings.llm_timeout_seconds,
            deadline=settings.llm_deadline_seconds,
            max_attempts=settings.llm_max_attempts,
            retry_wait=settings.llm_retry_wait_seconds,
        ),
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
    secret = settings.identity_secret.get_secret_value()
    results = ResultsApi(
        settings.results_url, identity_secret=secret, http=http, timeout=settings.results_timeout_seconds
    )
    relationship = RelationshipApi(
        clients_url=settings.clients_url,
        tiering_url=settings.tiering_url,
        identity_secret=secret,
        http=http,
        timeout=settings.records_timeout_seconds,
    )
    chat = chat_model(settings, http, runtime.database)
    summaries = DeterministicSummaries() if chat is None else ModelSummaries(chat)
    prose = DeterministicProse() if chat is None else ModelProse(chat)
    deps = handlers.AnalysisDeps(results=results, prose=prose, thresholds=settings.thresholds)
    handlers.register(runtime.bus, deps)
    quiet = timedelta(seconds=settings.summary_quiet_seconds)
    register_summaries(runtime.bus, SummaryDeps(relationship=relationship, writer=summaries, quiet=quiet))
    wiring = InsightsWiring(
        relationship=relationship,
        results=results,
        summaries=summaries,
        chat=chat,
        ask_max_tool_rounds=settings.ask_max_tool_rounds,
        creatives=CreativeReviewer(chat),
    )
    return create_service_app(
        runtime,
        route_handlers=[AnalysisController, SummaryController, QuestionController, CreativeInsightsController],
        provides={"wiring": wiring},
        title="clientpulse insights",
        description="Weekly structured analysis, relationship summaries, natural-language questions and creative "
        "insights.",
        lifespan=[_closing(http)],
    )
