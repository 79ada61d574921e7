"""The live stream of the caller's notifications (``GET /api/v1/me/notifications/stream``, SSE)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from clientpulse.notifications.api.schemas import NotificationRead
from clientpulse.notifications.db.models import Notification
from clientpulse.notifications.db.repositories.notifications import NotificationRepository
from clientpulse.notifications.feed import NotificationFeed, SentWindow
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.db import Database
from clientpulse.shared.guards import ServiceController
from clientpulse.shared.service import Caller, Db
from clientpulse.shared.shutdown import RECONNECT_MILLISECONDS, until_shutdown

Feed = NamedDependency[NotificationFeed]
Settings = NamedDependency[NotificationsSettings]

BATCH = 100


async def notification_events(
    db: Database,
    feed: NotificationFeed,
    recipient_id: str,
    resume_after: str | None,
    *,
    poll_interval: float,
    heartbeat_interval: float,
) -> AsyncIterator[ServerSentEventMessage]:
    """The recipient's notifications as SSE messages, from after ``resume_after`` (or from now), forever.

    See ``clientpulse.notifications.feed`` for the new rows read at each wake-up and the look back.
    """
    async with db.reading() as session:
        repository = NotificationRepository(session)
        if resume_after is None:
            newest = await repository.list_for(recipient_id, unread_only=False, before_id=None, limit=1)
            resume_after = newest[0].id if newest else ""
    # Tell the browser how soon to reconnect; it then sends Last-Event-ID and misses nothing. The empty
    # data line makes the opening a whole message for a client that reads until its first one; a
    # browser dispatches no event for empty data.
    yield ServerSentEventMessage(data="", comment="connected", retry=2000)
    window = SentWindow(resume_after)
    last_output = looked_back = time.monotonic()
    while not feed.closed:
        seen = feed.generation
        look_back = time.monotonic() - looked_back >= poll_interval
        if look_back:
            looked_back = time.monotonic()
        async for row in _unsent(db, recipient_id, window, look_back=look_back):
            window.sent(row.id)
            yield ServerSentEventMessage(
                data=NotificationRead.of(row).model_dump_json(), event="notification", id=row.id
            )
            last_output = time.monotonic()
        if time.monotonic() - last_output >= heartbeat_interval:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
            last_output = time.monotonic()
        await feed.wait(seen, min(poll_interval, heartbeat_interval))


async def _unsent(
    db: Database, recipient_id: str, window: SentWindow, *, look_back: bool
) -> AsyncIterator[Notification]:
    """What the stream has not sent: rows that committed late within the window (when ``look_back``),
    then every row newer than the newest sent, a page at a time."""
    if look_back:
        async with db.reading() as session:
            repository = NotificationRepository(session)
            late = window.unsent(await repository.ids_after(recipient_id, window.floor))
            rows = [
                row
                for start in range(0, len(late), BATCH)
                for row in await repository.with_ids(late[start : start + BATCH])
            ]
        for row in rows:
            yield row
    while True:
        async with db.reading() as session:
            rows = list(await NotificationRepository(session).list_after(recipient_id, window.after, BATCH))
        for row in rows:
            yield row
        if len(rows) < BATCH:
            return


class StreamController(ServiceController):
    """Server-Sent Events of the caller's own notifications."""

    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @get(
        "/stream",
        summary="Live stream of my notifications (Server-Sent Events)",
        description=(
            "Each event is `notification` with `id` = the notification id and the notification as JSON data. "
            "A reconnecting client sends `Last-Event-ID` and receives everything after it; comments are sent "
            "as a heartbeat every ~15 s."
        ),
        media_type="text/event-stream",
    )
    async def stream(
        self,
        identity: Caller,
        db: Db,
        feed: Feed,
        settings: Settings,
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", max_length=64, required=False)
        ] = None,
    ) -> ServerSentEvent:
        events = notification_events(
            db,
            feed,
            identity.sub,
            last_event_id or None,
            poll_interval=settings.stream_poll_interval,
            heartbeat_interval=settings.stream_heartbeat_interval,
        )
        # A stopping replica ends the stream at once and tells the browser to reconnect (elsewhere) soon.
        farewell = ServerSentEventMessage(data=None, comment="shutting down", retry=RECONNECT_MILLISECONDS)
        return ServerSentEvent(
            until_shutdown(events, lambda: farewell),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
