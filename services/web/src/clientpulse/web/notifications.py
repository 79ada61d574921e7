"""The notifications page, marking them read, and the live stream relayed from the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Stream, Template

from clientpulse.web.client_tabs import LOADERS
from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.layout import page
from clientpulse.web.session import require_user


def console_link(notification: dict[str, Any]) -> str | None:
    """Where the console shows what a notification is about: its client's page (and tab, when named)."""
    client_id = notification.get("client_id")
    if not client_id:
        return None
    link = str(notification.get("link") or "")
    path, _, fragment = link.partition("#")
    parts = path.strip("/").split("/")
    tab = parts[2] if len(parts) > 2 and parts[0] == "clients" and parts[2] in LOADERS else ""
    return f"/clients/{client_id}" + (f"/{tab}" if tab else "") + (f"#{fragment}" if fragment else "")


class NotificationPages(Controller):
    """``/notifications``, ``/notifications/{id}/read``, ``/notifications/read-all`` and ``/notifications/stream``."""

    path = "/notifications"

    @get("/", name="notifications")
    async def inbox(self, request: Request[Any, Any, Any], gateway: Gateway) -> Template:
        user = require_user(request)
        listing = await gateway.get(
            "/me/notifications", user.token, cursor=request.query_params.get("cursor"), limit=50
        )
        for item in listing.get("items", []):
            item["href"] = console_link(item)
        return await page(gateway, user, "notifications.html", notifications=listing, title="Notifications")

    @post("/{notification_id:str}/read", name="read-notification")
    async def read(self, request: Request[Any, Any, Any], gateway: Gateway, notification_id: str) -> Redirect:
        user = require_user(request)
        notification = await gateway.post(f"/me/notifications/{notification_id}/read", user.token)
        return Redirect(console_link(notification) or "/notifications")

    @post("/read-all", name="read-all")
    async def read_all(self, request: Request[Any, Any, Any], gateway: Gateway) -> Redirect:
        user = require_user(request)
        await gateway.post("/me/notifications/read-all", user.token)
        return Redirect("/notifications")

    @get("/stream", name="notification-stream")
    async def stream(self, request: Request[Any, Any, Any], gateway: Gateway) -> Stream:
        """The gateway's event stream for the signed-in user, relayed (the browser holds no token)."""
        user = require_user(request)
        last_event_id = request.headers.get("last-event-id")

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in gateway.stream("/me/notifications/stream", user.token, last_event_id):
                    yield chunk
            except ApiProblem as problem:
                yield f"event: problem\ndata: {problem}\n\n".encode()

        return Stream(
            relay(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
