"""The results-ingest service's Litestar app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar

from clientpulse.results_ingest import metrics
from clientpulse.results_ingest.api.connections import ConnectionController, OAuthCallbackController
from clientpulse.results_ingest.api.creatives import CreativeController
from clientpulse.results_ingest.api.results import ResultsController
from clientpulse.results_ingest.connectors.base import Clock
from clientpulse.results_ingest.connectors.http import http_client, quiet_http_logs
from clientpulse.results_ingest.domain.backfills import WorkerDeps
from clientpulse.results_ingest.domain.ingest import Runtime
from clientpulse.results_ingest.events import handlers
from clientpulse.results_ingest.pauses import NatsPauses
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ResultsSettings | None = None, *, clock: Clock | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts); tests may run it on a faster clock."""
    settings = settings or ResultsSettings()
    quiet_http_logs()
    runtime = build_runtime(settings, migrations=MIGRATIONS, publishes=[Stream.RESULTS])
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    http = http_client(settings)
    bus = runtime.bus
    platforms = Runtime(settings, box, http, clock=clock or Clock(), pauses=NatsPauses(lambda: bus.broker.connection))
    handlers.register(bus, WorkerDeps(runtime=platforms, database=runtime.database))
    metrics.preinitialise(REGISTRY.keys())

    @asynccontextmanager
    async def close_http(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await http.aclose()

    return create_service_app(
        runtime,
        route_handlers=[ConnectionController, OAuthCallbackController, ResultsController, CreativeController],
        title="clientpulse results",
        description="Platform connections, sync and backfill, account metrics and campaign results.",
        provides={"runtime": platforms},
        lifespan=[close_http, metrics.connections_census(runtime.database)],
    )
