"""The HTTP client connectors share."""

from __future__ import annotations

import logging

import httpx

from clientpulse.results_ingest.settings import ResultsSettings


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO; platform URLs may carry tokens (Meta's paging links do)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def http_client(settings: ResultsSettings) -> httpx.AsyncClient:
    """The HTTP client connectors share (one connection pool per process)."""
    return httpx.AsyncClient(timeout=settings.http_timeout, limits=httpx.Limits(max_connections=50))
