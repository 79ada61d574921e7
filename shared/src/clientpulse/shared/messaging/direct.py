"""Publishing without an outbox, for operators, CronJobs and external producers' stand-ins.

A command event has no local state change to commit with, so there is nothing an outbox would
protect; it is published directly, with ``Nats-Msg-Id`` = event id so a retry is a duplicate.
"""

from __future__ import annotations

import contextlib
from typing import Any

import nats
from nats.js.errors import BadRequestError

from clientpulse.shared.contracts import Envelope
from clientpulse.shared.messaging.broker import MSG_ID_HEADER, StreamSettings, stream_config
from clientpulse.shared.telemetry import current_trace_headers


async def publish_envelopes(
    nats_url: str, envelopes: list[Envelope[Any]], *, stream_settings: StreamSettings | None = None
) -> list[bool]:
    """Publish events in order, declaring their streams if needed; returns which were duplicates."""
    settings = stream_settings or StreamSettings()
    connection = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=2)
    try:
        js = connection.jetstream()
        declared: set[str] = set()
        duplicates: list[bool] = []
        for envelope in envelopes:
            stream = envelope.data.stream
            if stream.value not in declared:
                with contextlib.suppress(BadRequestError):  # it exists already, declared by its consumers
                    await js.add_stream(stream_config(stream, settings))
                declared.add(stream.value)
            ack = await js.publish(
                envelope.data.subject,
                envelope.to_json(),
                headers={
                    MSG_ID_HEADER: envelope.id,
                    "Content-Type": "application/cloudevents+json",
                    **current_trace_headers(),
                },
                stream=stream.value,
                timeout=5.0,
            )
            duplicates.append(bool(ack.duplicate))
        return duplicates
    finally:
        await connection.close()
