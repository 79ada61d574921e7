"""Errors as RFC 9457 problem details.

Every service raises ``ProblemError`` subclasses from its domain and service code; the handlers
here turn them, Litestar's own HTTP errors, validation failures and anything unexpected into
``application/problem+json`` responses. A malformed body is a 422 that lists what is wrong.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://clientpulse.dev/problems/"

_log = logging.getLogger("clientpulse.errors")


class ProblemError(Exception):
    """A failure the caller can act on, carrying its HTTP status and a problem type slug."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class NotFound(ProblemError):
    """The thing does not exist, or the caller may not know it exists (docs/access.md: 404, not 403)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    """The request clashes with the current state (converting twice, a second active job)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class Unprocessable(ProblemError):
    """The request is well formed but breaks a domain rule."""

    status = 422
    slug = "validation-failed"
    title = "Request validation failed"


class Forbidden(ProblemError):
    """The caller's role may not use this function."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Unauthenticated(ProblemError):
    """No valid credentials."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


def problem_response(
    status: int,
    *,
    title: str,
    detail: str,
    slug: str,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """Build one problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _on_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[dict[str, Any]]:
    return problem_response(
        exc.status, title=exc.title, detail=exc.detail, slug=exc.slug, instance=request.url.path, extra=exc.extra
    )


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
    detail = exc.detail or "the request is not valid"
    if errors:
        parts = [f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors if isinstance(e, dict)]
        if parts:
            detail = "; ".join(parts)
    return problem_response(
        422,
        title="Request validation failed",
        detail=detail,
        slug="validation-failed",
        instance=request.url.path,
        extra={"errors": errors},
    )


_SLUGS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    429: "rate-limited",
}


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    headers = dict(exc.headers) if exc.headers else None
    if status >= 500:
        _log.error("http error %s on %s: %s", status, request.url.path, exc.detail)
    return problem_response(
        status,
        title=title,
        detail=str(exc.detail),
        slug=_SLUGS.get(status, "http-error" if status < 500 else "server-error"),
        instance=request.url.path,
        headers=headers,
    )


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        title="Internal server error",
        detail="the server failed to handle this request; it has been logged",
        slug="server-error",
        instance=request.url.path,
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers every clientpulse Litestar app installs."""
    return {
        ProblemError: _on_problem,
        ValidationException: _on_validation,
        NotAuthorizedException: _on_http,
        PermissionDeniedException: _on_http,
        NotFoundException: _on_http,
        HTTPException: _on_http,
        Exception: _on_unexpected,
    }


__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "Forbidden",
    "MediaType",
    "NotFound",
    "ProblemError",
    "Unauthenticated",
    "Unprocessable",
    "exception_handlers",
    "problem_response",
]
