"""Dead letters: the messages JetStream gave up on, recorded from its advisories through a durable stream.

When a consumer's message reaches ``max_deliver``, or is terminated (a schema violation, a
``PermanentFailure``), JetStream publishes an advisory on core NATS. A core subscription would lose
every advisory published while no replica of the service runs, so the advisories of the project's
streams are kept in the stream ``DEAD_LETTER_ADVISORIES`` (file storage, kept ``max_age_days``),
declared by every service when it starts. Each service reads the advisories of its own consumers
through its durable pull consumer ``<service>-dead-letters`` (its replicas share it), turns each into
a ``dead_letters`` row and ``clientpulse_dead_letters_total``, and acknowledges it only after the row
is committed; while the database is away it is negatively acknowledged with a growing delay.
A dead letter is therefore recorded whenever a replica next runs, once (the row is keyed on
consumer, stream and sequence, so an advisory delivered twice adds nothing).

nats-server 2.10 or newer filters each service's consumer to its own advisories (several filter
subjects); on an older server every service reads every advisory and skips the others' itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from clientpulse.shared.contracts import Stream
from clientpulse.shared.db import Database, utcnow
from clientpulse.shared.messaging.sql import affected_rows, insert_ignoring_conflicts
from clientpulse.shared.messaging.tables import dead_letters
from clientpulse.shared.telemetry import DEAD_LETTERS

_log = logging.getLogger("clientpulse.messaging")

DEAD_LETTER_STREAM = "DEAD_LETTER_ADVISORIES"
ADVISORY_PREFIX = "$JS.EVENT.ADVISORY.CONSUMER"
# Advisory kind (a token of its subject) → the ``reason`` of the dead letter.
ADVISORY_REASONS: dict[str, str] = {"MAX_DELIVERIES": "max_deliveries", "MSG_TERMINATED": "terminated"}
DEAD_LETTER_REASONS = tuple(ADVISORY_REASONS.values())
MSG_ID_HEADER = "Nats-Msg-Id"


@dataclass(frozen=True, slots=True)
class DeadLetterSettings:
    """How dead-letter advisories are kept and how a failed capture is retried."""

    replicas: int = 1
    # Long enough to outlast any outage of a service; its rows are the record after that.
    max_age_days: int = 14
    # The delays of a capture that failed (the database away), one per delivery, the last repeated.
    retry_delays: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0)
    ack_wait: float = 30.0
    batch_size: int = 16


@dataclass(frozen=True, slots=True)
class DeadLetterAdvisory:
    """One JetStream advisory that a consumer gave up on a message."""

    reason: str
    stream: str
    consumer: str
    stream_seq: int
    deliveries: int | None


def advisory_subject(kind: str, stream: str, durable: str) -> str:
    """The subject JetStream publishes one consumer's advisory of ``kind`` on."""
    return f"{ADVISORY_PREFIX}.{kind}.{stream}.{durable}"


def advisory_stream_subjects(streams: Iterable[str]) -> list[str]:
    """The subjects ``DEAD_LETTER_ADVISORIES`` keeps: each advisory kind, for each of the project's streams."""
    names = list(streams)
    return [f"{ADVISORY_PREFIX}.{kind}.{stream}.>" for kind in ADVISORY_REASONS for stream in names]


def parse_advisory(subject: str, data: bytes) -> DeadLetterAdvisory:
    """An advisory message as a dead letter's facts; ``ValueError`` when it is not one we capture."""
    prefix = f"{ADVISORY_PREFIX}."
    if not subject.startswith(prefix):
        raise ValueError(f"{subject!r} is not a consumer advisory subject")
    tokens = subject[len(prefix) :].split(".")
    if len(tokens) != 3 or tokens[0] not in ADVISORY_REASONS:
        raise ValueError(f"{subject!r} is not a max-deliveries or terminated advisory")
    kind, subject_stream, subject_consumer = tokens
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"advisory on {subject!r} is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError(f"advisory on {subject!r} is not a JSON object")
    try:
        stream_seq = int(body["stream_seq"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"advisory on {subject!r} has no stream_seq") from exc
    if stream_seq < 1:
        raise ValueError(f"advisory on {subject!r} names stream_seq {stream_seq}")
    deliveries = body.get("deliveries")
    return DeadLetterAdvisory(
        reason=ADVISORY_REASONS[kind],
        stream=str(body.get("stream") or subject_stream),
        consumer=str(body.get("consumer") or subject_consumer),
        stream_seq=stream_seq,
        deliveries=int(deliveries) if isinstance(deliveries, int) else None,
    )


class DeadLetterCapture:
    """One service's capture of its consumers' dead letters (see the module docstring).

    ``consumers`` returns the (stream, durable) pairs of the service's consumers when the capture
    starts, so consumers registered after the capture was built are covered.
    """

    def __init__(
        self,
        *,
        service: str,
        database: Database,
        consumers: Callable[[], Sequence[tuple[str, str]]],
        settings: DeadLetterSettings | None = None,
    ) -> None:
        self.service = service
        self.database = database
        self.settings = settings or DeadLetterSettings()
        self._consumers = consumers
        self._connection: NatsClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self._ours: set[tuple[str, str]] = set()

    @property
    def durable(self) -> str:
        """The service's durable consumer of the advisory stream."""
        return f"{self.service}-dead-letters"

    async def declare(self, connection: NatsClient) -> None:
        """Make sure the advisory stream exists and keeps every project stream's advisories.

        Declared before the service's consumers start, so no advisory of theirs precedes it. Subjects
        are only ever added: a replica of an older version never removes a newer stream's advisories.
        """
        js = connection.jetstream()
        wanted = advisory_stream_subjects(stream.value for stream in Stream)
        try:
            info = await js.stream_info(DEAD_LETTER_STREAM)
        except NotFoundError:
            await js.add_stream(self._stream_config(wanted))
            return
        held = list(info.config.subjects or [])
        missing = [subject for subject in wanted if subject not in held]
        if missing:
            await js.update_stream(self._stream_config([*held, *missing]))

    def _stream_config(self, subjects: list[str]) -> StreamConfig:
        return StreamConfig(
            name=DEAD_LETTER_STREAM,
            description="JetStream advisories of messages its consumers gave up on; see the dead_letters tables",
            subjects=subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=self.settings.replicas,
            max_age=self.settings.max_age_days * 86400,
        )

    async def start(self, connection: NatsClient) -> None:
        """Export the metric at 0 for every consumer, create or update the durable consumer, start reading."""
        consumers = list(self._consumers())
        for _, durable in consumers:
            for reason in DEAD_LETTER_REASONS:
                DEAD_LETTERS.labels(self.service, durable, reason)
        if not consumers:
            return
        self._connection = connection
        self._ours = {(stream, durable) for stream, durable in consumers}
        js = connection.jetstream()
        filters = [
            advisory_subject(kind, stream, durable) for stream, durable in consumers for kind in ADVISORY_REASONS
        ]
        config = ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"dead-letter advisories of {self.service}'s consumers",
            # Everything still in the stream the first time: advisories published before this service ever ran.
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.settings.ack_wait,
            # Never give up: a dead letter is kept until its row is committed.
            max_deliver=-1,
            filter_subjects=filters,
        )
        info = await js.add_consumer(DEAD_LETTER_STREAM, config)
        if sorted(info.config.filter_subjects or []) != sorted(filters):
            _log.warning(
                "nats-server %s does not filter a consumer by several subjects (2.10 or newer does); "
                "%s skips the advisories of other services' consumers itself",
                connection.connected_server_version,
                self.durable,
            )
        self._subscription = await js.pull_subscribe_bind(self.durable, DEAD_LETTER_STREAM)
        self._task = asyncio.create_task(self._run(), name=f"{self.durable}")

    async def stop(self) -> None:
        """Stop reading; an advisory being recorded is finished or left for the next replica."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            with contextlib.suppress(Exception):  # closing anyway
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _run(self) -> None:
        while True:
            try:
                messages = await self._subscription.fetch(self.settings.batch_size, timeout=1.0)
            except TimeoutError:  # nothing new (nats-py raises its own or asyncio's)
                continue
            except Exception as exc:
                # NATS is away or reconnecting: what was not acknowledged is delivered again later.
                _log.debug("dead-letter fetch failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            for message in messages:
                await self.handle(message)

    async def handle(self, message: Msg) -> None:
        """Record one advisory, then acknowledge it; negatively acknowledge it with a delay if that fails."""
        try:
            advisory = parse_advisory(message.subject, message.data)
        except ValueError as exc:
            _log.error("dropped an advisory that names no dead letter: %s", exc, extra={"consumer": self.durable})
            with contextlib.suppress(NatsError):
                await message.term()
            return
        if (advisory.stream, advisory.consumer) not in self._ours:
            # Another service's consumer (only on a server too old to filter): that service records it.
            with contextlib.suppress(NatsError):
                await message.ack()
            return
        try:
            await self.record(advisory)
        except Exception as exc:
            delivered = message.metadata.num_delivered if message.metadata else 1
            delays = self.settings.retry_delays
            delay = delays[min(delivered, len(delays)) - 1]
            _log.warning(
                "could not record the dead letter %s/%d of %s (delivery %d), retrying in %ss: %s",
                advisory.stream,
                advisory.stream_seq,
                advisory.consumer,
                delivered,
                delay,
                exc,
                extra={"consumer": advisory.consumer},
            )
            with contextlib.suppress(NatsError):
                await message.nak(delay=delay)
            return
        with contextlib.suppress(NatsError):  # unacknowledged, it comes back and is ignored as recorded
            await message.ack()

    async def record(self, advisory: DeadLetterAdvisory) -> bool:
        """Write the dead letter (with the message, while the stream still holds it); True when it is new."""
        payload: bytes | None = None
        headers: dict[str, str] | None = None
        subject: str | None = None
        event_id: str | None = None
        if self._connection is not None:
            try:
                stored = await self._connection.jetstream().get_msg(advisory.stream, advisory.stream_seq)
                payload, subject = stored.data, stored.subject
                headers = dict(stored.headers or {})
                event_id = headers.get(MSG_ID_HEADER)
            except Exception as exc:  # the message may have aged out; keep the advisory's facts
                _log.warning("dead letter %s/%d could not be fetched: %s", advisory.stream, advisory.stream_seq, exc)
        async with self.database.transaction() as session:
            result = await session.execute(
                insert_ignoring_conflicts(session, dead_letters).values(
                    consumer=advisory.consumer,
                    stream=advisory.stream,
                    stream_seq=advisory.stream_seq,
                    subject=subject,
                    event_id=event_id,
                    reason=advisory.reason,
                    deliveries=advisory.deliveries,
                    payload=payload,
                    headers=headers,
                    captured_at=utcnow(),
                )
            )
            new = affected_rows(result) > 0
        if not new:
            _log.info(
                "dead letter already recorded",
                extra={"consumer": advisory.consumer, "stream_seq": advisory.stream_seq},
            )
            return False
        DEAD_LETTERS.labels(self.service, advisory.consumer, advisory.reason).inc()
        _log.error(
            "dead letter captured",
            extra={
                "consumer": advisory.consumer,
                "stream_seq": advisory.stream_seq,
                "reason": advisory.reason,
                "event_id": event_id,
            },
        )
        return True
