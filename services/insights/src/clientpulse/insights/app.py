"""The insights service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.insights.api.analysis import AnalysisController
from clientpulse.insights.events import handlers
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: InsightsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    runtime = build_runtime(settings or InsightsSettings(), migrations=MIGRATIONS, publishes=[Stream.INSIGHTS])
    handlers.register(runtime.bus)
    return create_service_app(
        runtime,
        route_handlers=[AnalysisController],
        title="clientpulse insights",
        description="Weekly structured analysis, relationship summaries and natural-language questions.",
    )
