"""Request ids: one per request, taken from the caller when sane, echoed back, forwarded and logged."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from clientpulse.shared.identity import REQUEST_ID_HEADER

_HEADER = REQUEST_ID_HEADER.lower().encode("latin-1")
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
_current_request_id: ContextVar[str] = ContextVar("clientpulse_request_id")


def request_id_for(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when it is a plain token of at most 128 characters, else a new one."""
    for name, value in headers:
        if name == _HEADER and _SANE_REQUEST_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being handled (``LookupError`` outside ``RequestIdMiddleware``)."""
    return _current_request_id.get()


class RequestIdMiddleware:
    """Chooses the request id, makes it current for handlers and logs, and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope["headers"])
        header = (_HEADER, request_id.encode("ascii"))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = _current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            _current_request_id.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record written while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _current_request_id.get(None)
        if request_id is not None:
            record.request_id = request_id
        return True


def log_request_ids() -> None:
    """Attach the request id filter to the root handlers (call after ``configure_logging``)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RequestIdLogFilter) for existing in handler.filters):
            handler.addFilter(RequestIdLogFilter())
