"""The notifications service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.notifications.api.inbox import InboxController
from clientpulse.notifications.events import handlers
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    runtime = build_runtime(settings or NotificationsSettings(), migrations=MIGRATIONS, publishes=[])
    handlers.register(runtime.bus)
    return create_service_app(
        runtime,
        route_handlers=[InboxController],
        title="clientpulse notifications",
        description="In-app inbox, live stream and signed webhooks.",
    )
