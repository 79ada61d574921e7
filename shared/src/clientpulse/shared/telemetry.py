"""Logs, traces and metrics for every service.

- Logs: one JSON object a line with time, level, service, logger, message, trace and span ids, and
  any ``extra`` fields (event ids, consumer names).
- Traces: OpenTelemetry, exported over OTLP/HTTP when an endpoint is configured; W3C
  ``traceparent`` crosses HTTP (Litestar, the gateway's client) and NATS (message headers).
- Metrics: Prometheus, in the process's default registry, served at ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from prometheus_client import Counter, Gauge, Histogram

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line, with the current trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, *, level: str = "INFO", json_lines: bool = True) -> None:
    """Route every logger to stderr, as JSON lines (or plain text for a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-message INFO lines from the broker halve consume throughput; keep them at WARNING.
    for noisy in ("faststream", "nats", "uvicorn.access", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_configured_tracing = False


def configure_tracing(service: str, otlp_endpoint: str | None, *, sample_ratio: float = 1.0) -> TracerProvider:
    """Install the process's tracer provider.

    With an OTLP endpoint, new traces are sampled at ``sample_ratio`` and exported. Without one,
    spans are not recorded (they cost ~200 µs a request on the gateway for nothing) but trace
    context is still created and propagated, so logs and messages keep their trace ids; a caller's
    sampled ``traceparent`` is still honoured.
    """
    global _configured_tracing
    current = trace.get_tracer_provider()
    if _configured_tracing and isinstance(current, TracerProvider):
        return current
    root = TraceIdRatioBased(sample_ratio) if otlp_endpoint else ALWAYS_OFF
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"clientpulse-{service}"}), sampler=ParentBased(root)
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _configured_tracing = True
    return provider


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, as headers to carry on a message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


# --- metrics every service exports -------------------------------------------------------------

OUTBOX_PENDING = Gauge("clientpulse_outbox_pending", "Outbox rows committed but not yet published to NATS", ["service"])
OUTBOX_PUBLISHED = Counter(
    "clientpulse_outbox_published_total", "Outbox rows published to JetStream", ["service", "subject"]
)
OUTBOX_PUBLISH_ERRORS = Counter(
    "clientpulse_outbox_publish_errors_total", "Failed attempts to publish an outbox batch", ["service"]
)
OUTBOX_LAG = Histogram(
    "clientpulse_outbox_lag_seconds",
    "Time from commit of an outbox row to its publication",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
HANDLING_OUTCOMES = ("applied", "duplicate", "rejected", "failed", "deferred")
EVENTS_HANDLED = Counter(
    "clientpulse_events_handled_total",
    "Events handled by a consumer, by outcome (applied, duplicate, rejected, failed, deferred: the handler "
    "asked for the event again later, e.g. while a platform throttles)",
    ["service", "consumer", "outcome"],
)
EVENT_HANDLE_SECONDS = Histogram(
    "clientpulse_event_handle_seconds", "Time to handle one event, commit included", ["service", "consumer"]
)
DEAD_LETTERS = Counter(
    "clientpulse_dead_letters_total",
    "Messages captured as dead letters (max deliveries reached or terminated)",
    ["service", "consumer", "reason"],
)
