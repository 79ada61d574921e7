"""The caller's own notifications (``/api/v1/me/notifications``)."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from clientpulse.notifications.api.schemas import MarkedRead, NotificationRead, UnreadCount
from clientpulse.notifications.db.repositories.notifications import NotificationRepository
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound
from clientpulse.shared.guards import ServiceController
from clientpulse.shared.pagination import Page, clamp_limit, cursor_id, next_cursor_after
from clientpulse.shared.service import Caller, Db


class InboxController(ServiceController):
    """A user sees only their own notifications."""

    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @get("/", summary="My notifications, newest first")
    async def list_notifications(
        self,
        identity: Caller,
        db: Db,
        unread: Annotated[bool, QueryParameter(description="only unread ones")] = False,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[NotificationRead]:
        size = clamp_limit(limit)
        async with db.reading() as session:
            rows = await NotificationRepository(session).list_for(
                identity.sub, unread_only=unread, before_id=cursor_id(cursor), limit=size + 1
            )
        items = [NotificationRead.of(n) for n in rows[:size]]
        next_cursor = next_cursor_after(rows, size)
        return Page[NotificationRead](items=items, next_cursor=next_cursor)

    @get("/unread-count", summary="How many of my notifications are unread")
    async def unread_count(self, identity: Caller, db: Db) -> UnreadCount:
        async with db.reading() as session:
            return UnreadCount(unread=await NotificationRepository(session).unread_count(identity.sub))

    @post("/{notification_id:str}/read", summary="Mark one notification read", status_code=HTTP_200_OK)
    async def mark_read(self, identity: Caller, db: Db, notification_id: FromPath[str]) -> NotificationRead:
        async with db.transaction() as session:
            notification = await NotificationRepository(session).mark_read(identity.sub, notification_id, utcnow())
            if notification is None:
                raise NotFound(f"notification {notification_id} was not found")
        return NotificationRead.of(notification)

    @post("/read-all", summary="Mark all my notifications read", status_code=HTTP_200_OK)
    async def mark_all_read(self, identity: Caller, db: Db) -> MarkedRead:
        async with db.transaction() as session:
            return MarkedRead(marked=await NotificationRepository(session).mark_all_read(identity.sub, utcnow()))
