"""The results-ingest service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.results_ingest.api.connections import ConnectionController
from clientpulse.results_ingest.events import handlers
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ResultsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    runtime = build_runtime(settings or ResultsSettings(), migrations=MIGRATIONS, publishes=[Stream.RESULTS])
    handlers.register(runtime.bus)
    return create_service_app(
        runtime,
        route_handlers=[ConnectionController],
        title="clientpulse results",
        description="Platform connections, sync and backfill, account metrics and campaign results.",
    )
