"""The tiering service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app
from clientpulse.tiering.api.tiering import ClientTieringController, FrameworkController
from clientpulse.tiering.events import handlers
from clientpulse.tiering.settings import TieringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: TieringSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    runtime = build_runtime(settings or TieringSettings(), migrations=MIGRATIONS, publishes=[Stream.TIERING])
    handlers.register(runtime.bus)
    return create_service_app(
        runtime,
        route_handlers=[FrameworkController, ClientTieringController],
        title="clientpulse tiering",
        description="Scoring framework, revenue ledger, Score Now, overrides, recalculation and portfolio rollup.",
    )
