"""The notifications service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.notifications.api.inbox import InboxController
from clientpulse.notifications.api.stream import StreamController
from clientpulse.notifications.api.webhooks import WebhookController
from clientpulse.notifications.delivery import DeliveryWorker, delivery_lifespan
from clientpulse.notifications.events import handlers
from clientpulse.notifications.feed import NotificationFeed
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    settings = settings or NotificationsSettings()
    runtime = build_runtime(settings, migrations=MIGRATIONS, publishes=[])
    handlers.register(runtime.bus, settings)
    feed = NotificationFeed()
    runtime.database.on_commit(feed.wake)
    worker = DeliveryWorker(runtime.database, settings)
    return create_service_app(
        runtime,
        route_handlers=[InboxController, StreamController, WebhookController],
        title="clientpulse notifications",
        description="In-app inbox, live stream and signed webhooks.",
        provides={"feed": feed, "settings": settings},
        lifespan=[delivery_lifespan(worker, on_stop=feed.close)],
    )
