"""What the consumers of the backbone share: failures handlers raise, deferral headers, envelope
decoding and the streams' configuration."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nats.js.api import StorageType, StreamConfig

from clientpulse.shared.contracts import Envelope, EnvelopeHeader, EventData, Stream

MSG_ID_HEADER = "Nats-Msg-Id"
# On a deferred event's copy: the epoch seconds before which its handler must not run.
NOT_BEFORE_HEADER = "Clientpulse-Not-Before"


def not_yet(headers: dict[str, str] | None) -> float | None:
    """Seconds a deferred copy still waits (``None`` when it may run now)."""
    raw = (headers or {}).get(NOT_BEFORE_HEADER)
    if raw is None:
        return None
    try:
        wait = float(raw) - time.time()
    except ValueError:
        return None
    return wait if wait > 0 else None


class PermanentFailure(Exception):
    """An event that can never be applied (it contradicts the consumer's contract): dead-letter it."""


class Deferred(Exception):
    """Not now: handle this event again in ``delay`` seconds (an outside system asked to wait).

    Nothing of the attempt is kept (the unit of work rolls back, its inbox claim with it). A deferral
    is not a failure: it does not use up the event's deliveries (near the limit the event is published
    again, and the copy starts a fresh count; consumers' inboxes still see one event).
    """

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = max(0.0, delay)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How streams are declared: replicas 3 and file storage in production, 1 in tests."""

    replicas: int = 1
    max_age_days: int = 30
    duplicate_window_seconds: int = 120


def stream_config(stream: Stream, settings: StreamSettings) -> StreamConfig:
    """The JetStream configuration of one producing context's stream."""
    return StreamConfig(
        name=stream.value,
        subjects=stream.subjects,
        storage=StorageType.FILE,
        num_replicas=settings.replicas,
        max_age=settings.max_age_days * 86400,
        duplicate_window=settings.duplicate_window_seconds,
    )


def decode_envelope(event: type[EventData], body: bytes) -> Envelope[Any]:
    """A message body as the envelope of ``event``, decoded leniently (unknown fields ignored)."""
    header = EnvelopeHeader.model_validate_json(body)
    return Envelope[event](  # type: ignore[valid-type]
        id=header.id,
        source=header.source,
        type=header.type,
        time=header.time,
        subject=header.subject,
        data=event.decode(header.data),
    )
