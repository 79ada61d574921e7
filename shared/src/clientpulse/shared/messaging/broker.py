"""The NATS JetStream backbone of one service: broker, streams, durable consumers, dead letters.

Policies, set deliberately (FastStream's NATS default would terminate a message on any exception):
- ``AckPolicy.NACK_ON_ERROR`` at broker level; the consumer wrapper acks only after the handler's
  unit of work has committed, naks with a growing delay when it fails, and terminates a message
  that can never succeed (schema violation); a failure while the database does not answer holds the
  message (in progress) and applies it again once the database does, so an outage spends no deliveries;
- durable pull consumers with ``max_deliver``, a failed message NAKed with the delay ``backoff`` names
  for its delivery, ``ack_wait`` for a consumer that died; when JetStream gives up it publishes
  an advisory, kept in a durable stream and turned into a ``dead_letters`` row and a metric
  (``clientpulse.shared.messaging.dead_letters``);
- reconnect forever, drain gracefully on shutdown, broker logging off (per-message INFO lines
  halve throughput).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from faststream.nats.message import NatsMessage as RawNatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.errors import Error as NatsError
from nats.js.api import StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, EventData, Stream
from clientpulse.shared.db import Database
from clientpulse.shared.messaging.batches import BatchConsumer, BatchHandler
from clientpulse.shared.messaging.core import (
    MSG_ID_HEADER,
    NOT_BEFORE_HEADER,
    Deferred,
    PermanentFailure,
    StreamSettings,
    decode_envelope,
    not_yet,
    stream_config,
)
from clientpulse.shared.messaging.dead_letters import DeadLetterCapture, DeadLetterSettings
from clientpulse.shared.messaging.inbox import claim
from clientpulse.shared.messaging.outbox import OutboxRelay, PendingEvent
from clientpulse.shared.messaging.publisher import PipelinedPublisher, Publication
from clientpulse.shared.telemetry import EVENT_HANDLE_SECONDS, EVENTS_HANDLED, HANDLING_OUTCOMES

_log = logging.getLogger("clientpulse.messaging")

# While the database is down, a held event is retried this often (and its ack wait renewed).
DATABASE_RETRY_SECONDS = 1.0
DATABASE_PING_TIMEOUT = 2.0
# How long a stopping consumer may take to finish the events in hand.
GRACEFUL_SECONDS = 15.0


async def _apply(database: Database, spec: ConsumerSpec, handler: Handler, envelope: Envelope[Any]) -> str:
    """One unit of work: claim the event in the inbox and run its handler; ``applied`` or ``duplicate``."""
    async with database.transaction() as session:
        if await claim(session, spec.durable, envelope.id):
            await handler(envelope, session)
            return "applied"
        return "duplicate"


async def _database_answers(database: Database) -> bool:
    try:
        await asyncio.wait_for(database.ping(), timeout=DATABASE_PING_TIMEOUT)
    except Exception:
        return False
    return True


async def apply_holding_while_database_down(
    database: Database,
    apply: Callable[[], Awaitable[str]],
    hold: Callable[[], Awaitable[None]],
    log_extra: dict[str, Any],
) -> str:
    """``apply()``; when it fails and the database does not answer, hold the message(s) (``hold``: in
    progress, so JetStream neither redelivers them nor counts a delivery) and apply again once the
    database answers.

    A database outage is nobody's event's fault: NAKing would spend the deliveries of every message
    fetched meanwhile and dead-letter them after a long enough outage. Any other failure is raised.
    """
    while True:
        try:
            return await apply()
        except (Deferred, PermanentFailure):
            raise
        except Exception as exc:
            if await _database_answers(database):
                raise
            _log.warning("the database does not answer; holding the event until it does: %s", exc, extra=log_extra)
        while not await _database_answers(database):
            await hold()
            await asyncio.sleep(DATABASE_RETRY_SECONDS)


Handler = Callable[[Envelope[Any], AsyncSession], Awaitable[None]]


def create_broker(
    nats_url: str,
    *,
    service: str,
    graceful_timeout: float = GRACEFUL_SECONDS,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> NatsBroker:
    """A FastStream NATS broker with the project's policies (see module docstring)."""
    return NatsBroker(
        nats_url,
        reconnected_cb=on_reconnect,
        name=f"clientpulse-{service}",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        logger=None,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=3,
        graceful_timeout=graceful_timeout,
        drain_timeout=int(graceful_timeout),
        middlewares=(
            NatsTelemetryMiddleware(),
            NatsPrometheusMiddleware(registry=REGISTRY, app_name=f"clientpulse_{service}"),
        ),
    )


def jstream(stream: Stream, settings: StreamSettings) -> JStream:
    """The stream as FastStream's subscribers declare it (same settings as ``stream_config``)."""
    return JStream(
        name=stream.value,
        subjects=stream.subjects,
        declare=True,
        storage=StorageType.FILE,
        num_replicas=settings.replicas,
        max_age=settings.max_age_days * 86400,
        duplicate_window=settings.duplicate_window_seconds,
    )


@dataclass(slots=True)
class ConsumerSpec:
    """One durable consumer of one or more event types of one stream, with one handler per type."""

    durable: str
    handlers: dict[type[EventData], Handler]
    ordered: bool = False
    batched: bool = False
    batch_handlers: dict[Any, BatchHandler] = field(default_factory=dict)
    by_subject: dict[str, tuple[type[EventData], Handler]] = field(init=False)

    def __post_init__(self) -> None:
        if not self.handlers:
            raise ValueError(f"consumer {self.durable} handles no event type")
        streams = {event.stream for event in self.handlers}
        if len(streams) != 1:
            raise ValueError(f"consumer {self.durable} mixes streams {sorted(streams)}; use one consumer per stream")
        self.by_subject = {event.subject: (event, handler) for event, handler in self.handlers.items()}

    @property
    def events(self) -> tuple[type[EventData], ...]:
        """The event types this consumer handles."""
        return tuple(self.handlers)

    @property
    def stream(self) -> Stream:
        """The stream every event of this consumer is in."""
        return self.events[0].stream

    @property
    def filter_subject(self) -> str:
        """One subject for one event; the narrowest wildcard covering all of them otherwise."""
        if len(self.events) == 1:
            return self.events[0].subject
        split = [event.subject.split(".") for event in self.events]
        common: list[str] = []
        for tokens in zip(*split, strict=False):
            if len(set(tokens)) != 1:
                break
            common.append(tokens[0])
        return ".".join([*common, ">"])


class EventBus:
    """A service's events: durable consumers (inbox-guarded), the outbox relay and dead-letter capture.

    Usage: create it when the app is built, register handlers with ``consumer``, then ``start()`` and
    ``stop()`` from the app's lifespan.
    """

    def __init__(
        self,
        *,
        service: str,
        nats_url: str,
        database: Database,
        max_deliver: int = 6,
        backoff: list[float] | None = None,
        ack_wait: float = 30.0,
        stream_settings: StreamSettings | None = None,
        outbox_batch_size: int = 500,
        outbox_poll_interval: float = 0.5,
        pull_batch_size: int = 32,
        batch_size: int = 500,
        dead_letter_settings: DeadLetterSettings | None = None,
    ) -> None:
        self.service = service
        self.nats_url = nats_url
        self.database = database
        self.backoff = list(backoff if backoff is not None else [0.5, 2.0, 5.0, 15.0, 30.0])
        # Every step of the backoff list gets a delivery of its own.
        self.max_deliver = max(max_deliver, len(self.backoff) + 1)
        self.ack_wait = ack_wait
        self.stream_settings = stream_settings or StreamSettings()
        self.pull_batch_size = pull_batch_size
        self.batch_size = batch_size
        self.batch_consumers: list[BatchConsumer] = []
        self.broker = create_broker(nats_url, service=service, on_reconnect=self._on_reconnect)
        self.consumers: list[ConsumerSpec] = []
        self.relay = OutboxRelay(
            database,
            self._send_pending,
            service=service,
            batch_size=outbox_batch_size,
            poll_interval=outbox_poll_interval,
        )
        self.dead_letters = DeadLetterCapture(
            service=service,
            database=database,
            consumers=lambda: [(spec.stream.value, spec.durable) for spec in self.consumers],
            settings=dead_letter_settings or DeadLetterSettings(replicas=self.stream_settings.replicas),
        )
        self.publisher = PipelinedPublisher(lambda: self.broker.connection)
        self._started = False
        self._js: JetStreamContext | None = None
        self._js_connection: Any = None

    async def _on_reconnect(self) -> None:
        _log.info("reconnected to NATS; publishing what waited in the outbox")
        self.relay.wake()

    # --- consuming -------------------------------------------------------------------------------

    def consumer(
        self,
        event: type[EventData],
        *,
        name: str,
        ordered: bool = False,
        batched: bool = False,
        batch_handler: BatchHandler | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register ``handler(envelope, session)`` as the durable consumer ``<service>-<name>`` of one event type.

        The handler runs inside a unit of work whose inbox claim makes it idempotent; it must not
        commit. Raise ``PermanentFailure`` for an event that can never be applied, ``Deferred`` for
        one to handle again later. Several types of one stream share a consumer with ``consumers``.
        """

        def register(handler: Handler) -> Handler:
            batch_handlers = {event: batch_handler} if batch_handler is not None else None
            self.typed_consumer(
                {event: handler}, name=name, ordered=ordered, batched=batched, batch_handlers=batch_handlers
            )
            return handler

        return register

    def typed_consumer(
        self,
        handlers: Mapping[type[EventData], Handler],
        *,
        name: str,
        ordered: bool = False,
        batched: bool = False,
        batch_handlers: Mapping[type[EventData], BatchHandler] | None = None,
    ) -> ConsumerSpec:
        """Register one durable consumer ``<service>-<name>`` for several event types of one stream, one typed
        handler each: a type without a handler cannot be subscribed, so nothing is acknowledged unhandled.

        Order: by default a fetched batch is handled concurrently and a failed message comes back
        after later ones, so a handler must not depend on order (keep the newest fact by the
        event's time, as ``client_directory`` does). ``ordered=True`` allows one unacknowledged
        message at a time (``max_ack_pending=1``): strict stream order, at the cost of throughput.

        ``batched=True`` applies each fetched batch (up to ``batch_size`` events) in one transaction,
        a savepoint per event, in fetch order (``clientpulse.shared.messaging.batches``): for
        high-volume consumers whose handlers only touch the database. A handler that waits on
        anything else (HTTP, a model) keeps the one-event unit of work. ``batch_handlers`` may give a
        type a handler of a run of its events at once (``handler(envelopes, session)``, e.g. one
        multi-row INSERT), with the same effect as its one-event handler on each; when it raises, the
        events are applied one by one with the one-event handler.
        """
        durable = f"{self.service}-{name}"
        spec = ConsumerSpec(
            durable=durable,
            handlers=dict(handlers),
            ordered=ordered,
            batched=batched,
            batch_handlers=dict(batch_handlers or {}),
        )
        self.consumers.append(spec)
        # Every outcome is exported (as 0) from the start, so rate() and increase() see the first one.
        for outcome in HANDLING_OUTCOMES:
            EVENTS_HANDLED.labels(self.service, durable, outcome)
        self._subscribe(spec)
        return spec

    def _subscribe(self, spec: ConsumerSpec) -> None:
        if spec.batched:
            self.batch_consumers.append(BatchConsumer(self, spec, batch_size=self.batch_size))
            return
        # No ``backoff`` on the consumer: JetStream would use its first value as the ack wait of a
        # first delivery (0.5 s), redelivering every message of a batch still being worked through.
        # A failed handler names its delay in the NAK; ``ack_wait`` covers a consumer that died.
        config = ConsumerConfig(
            max_deliver=self.max_deliver,
            ack_wait=self.ack_wait,
            max_ack_pending=1 if spec.ordered else max(1000, self.pull_batch_size * 4),
        )

        async def on_message(body: Any, msg: NatsMessage) -> None:
            await self._handle(spec, msg)

        # Real objects, not the postponed strings of this module, so FastStream injects the message
        # whatever the caller's globals hold.
        on_message.__annotations__ = {"body": Any, "msg": NatsMessage, "return": None}

        self.broker.subscriber(
            spec.filter_subject,
            stream=jstream(spec.stream, self.stream_settings),
            durable=spec.durable,
            pull_sub=PullSub(batch_size=1 if spec.ordered else self.pull_batch_size, timeout=1.0),
            config=config,
            title=spec.durable,
            description=" ".join(filter(None, (h.__doc__ for h in spec.handlers.values()))) or None,
        )(on_message)

    async def _handle(self, spec: ConsumerSpec, msg: RawNatsMessage) -> None:
        started = time.perf_counter()
        raw = msg.raw_message
        routed = spec.by_subject.get(raw.subject)
        if routed is None:
            # A newer event type under the same wildcard: not ours to handle.
            await msg.ack()
            return
        event, handler = routed
        if (wait := not_yet(raw.headers)) is not None:
            # A deferred event's copy published before its time: it waits without its handler running.
            await msg.nack(delay=wait)
            return
        try:
            envelope = decode_envelope(event, raw.data)
        except (ValidationError, ValueError) as exc:
            _log.error(
                "rejected an event that does not match %s: %s",
                event.event_type,
                exc,
                extra={"consumer": spec.durable, "subject": raw.subject},
            )
            EVENTS_HANDLED.labels(self.service, spec.durable, "rejected").inc()
            await msg.reject()
            return
        log_extra = {"consumer": spec.durable, "event_id": envelope.id, "event_type": event.event_type}
        try:
            outcome = await apply_holding_while_database_down(
                self.database, lambda: _apply(self.database, spec, handler, envelope), msg.in_progress, log_extra
            )
        except Deferred as exc:
            await self._defer(spec, msg, envelope.id, exc, log_extra)
            return
        except PermanentFailure as exc:
            _log.error("event can never be applied, dead-lettering it: %s", exc, extra=log_extra)
            EVENTS_HANDLED.labels(self.service, spec.durable, "rejected").inc()
            await msg.reject()
            return
        except Exception as exc:
            await self.retry_later(spec, msg, exc, log_extra)
            return
        # Committed: only now may the message be acknowledged.
        await msg.ack()
        EVENTS_HANDLED.labels(self.service, spec.durable, outcome).inc()
        EVENT_HANDLE_SECONDS.labels(self.service, spec.durable).observe(time.perf_counter() - started)
        if outcome == "duplicate":
            _log.info("duplicate event ignored", extra=log_extra)

    async def retry_later(
        self, spec: ConsumerSpec, msg: RawNatsMessage, error: BaseException | None, log_extra: dict[str, Any]
    ) -> None:
        """A failed event: negatively acknowledged with the backoff of its delivery."""
        raw = msg.raw_message
        delivered = raw.metadata.num_delivered if raw.metadata else 1
        delay = self.backoff[min(delivered - 1, len(self.backoff) - 1)] if self.backoff else None
        _log.warning(
            "event handling failed on delivery %d, retrying in %ss: %s", delivered, delay, error, extra=log_extra
        )
        EVENTS_HANDLED.labels(self.service, spec.durable, "failed").inc()
        await msg.nack(delay=delay)

    async def apply_holding_while_database_down(
        self, apply: Callable[[], Awaitable[str]], hold: Callable[[], Awaitable[None]], log_extra: dict[str, Any]
    ) -> str:
        """``apply()``, holding the message(s) while the database does not answer (see the function)."""
        return await apply_holding_while_database_down(self.database, apply, hold, log_extra)

    async def _defer(
        self, spec: ConsumerSpec, msg: RawNatsMessage, event_id: str, exc: Deferred, log_extra: dict[str, Any]
    ) -> None:
        raw = msg.raw_message
        delivered = raw.metadata.num_delivered if raw.metadata else 1
        EVENTS_HANDLED.labels(self.service, spec.durable, "deferred").inc()
        if delivered < self.max_deliver:
            _log.info("event deferred for %.1fs: %s", exc.delay, exc, extra=log_extra)
            await msg.nack(delay=exc.delay)
            return
        # The last delivery: the event continues as a copy with its own count, held until its time.
        sequence = raw.metadata.sequence.stream if raw.metadata else delivered
        headers = {
            **(raw.headers or {}),
            MSG_ID_HEADER: f"{event_id}.deferred.{sequence}",
            NOT_BEFORE_HEADER: f"{time.time() + exc.delay:.3f}",
        }
        await self.broker.connection.jetstream().publish(
            raw.subject, raw.data, timeout=5.0, stream=spec.stream.value, headers=headers
        )
        await msg.ack()
        _log.info(
            "event deferred again after %d deliveries; continuing as a new copy: %s", delivered, exc, extra=log_extra
        )

    # --- publishing ------------------------------------------------------------------------------

    async def _send_pending(self, events: list[PendingEvent]) -> Awaitable[list[BaseException | None]]:
        # Straight to JetStream, not through the broker's middleware: the row carries the trace
        # context of the request or message that produced the event, so consumers continue *that*
        # trace, and the relay does not pay for a span per event (it publishes thousands a second).
        return await self.publisher.send(
            [
                Publication(
                    subject=event.subject,
                    payload=event.payload,
                    stream=event.stream,
                    msg_id=event.event_id,
                    headers={**event.headers, "Content-Type": "application/cloudevents+json"},
                )
                for event in events
            ]
        )

    def _jetstream(self) -> JetStreamContext:
        """The connection's JetStream context, made once (making one per publication costs as much as a third of it)."""
        connection = self.broker.connection
        if self._js is None or self._js_connection is not connection:
            self._js, self._js_connection = connection.jetstream(), connection
        return self._js

    async def publish_now(self, envelope: Envelope[Any]) -> None:
        """Publish without an outbox, for commands from operators and CronJobs (no local state)."""
        await self.broker.publish(
            envelope.to_json(),
            envelope.data.subject,
            headers={MSG_ID_HEADER: envelope.id, "Content-Type": "application/cloudevents+json"},
            stream=envelope.data.stream.value,
            timeout=5.0,
        )

    # --- lifecycle -------------------------------------------------------------------------------

    async def declare_streams(self, streams: list[Stream] | None = None) -> None:
        """Make sure the streams this service publishes to exist."""
        js = self.broker.connection.jetstream()
        for stream in streams or []:
            config = stream_config(stream, self.stream_settings)
            try:
                await js.add_stream(config)
            except BadRequestError:  # it exists: bring its settings up to date
                await js.update_stream(config)

    async def start(self, *, publishes: list[Stream] | None = None) -> None:
        """Connect (waiting for NATS if needed), declare streams, start consumers, relay and capture."""
        await self.broker.connect()
        await self.declare_streams(publishes)
        # Before the consumers start, so the advisory of their first dead letter has a stream to land in.
        await self.dead_letters.declare(self.broker.connection)
        await self.broker.start()
        for batches in self.batch_consumers:
            await batches.start(self.broker.connection)
        await self.dead_letters.start(self.broker.connection)
        self.relay.start()
        self._started = True

    async def stop(self) -> None:
        """Drain consumers, flush the outbox once more, close the connection."""
        await self.dead_letters.stop()
        await self.relay.stop()
        await self.publisher.close()
        for batches in self.batch_consumers:
            await batches.stop(grace=GRACEFUL_SECONDS)
        try:
            await self.broker.stop()
        except NatsError as exc:
            # NATS is away (reconnecting): there is nothing to drain to; unacknowledged messages will
            # be redelivered to whoever consumes next, and the outbox keeps what was not published.
            _log.warning("could not drain the NATS connection (%s); closing it", exc)
            connection = self.broker._connection
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
        self._started = False

    async def ping(self) -> bool:
        """True while connected to NATS."""
        connection = self.broker._connection
        return bool(connection is not None and connection.is_connected)
