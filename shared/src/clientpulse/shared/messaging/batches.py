"""Batched consumers: a fetched batch of events applied in one transaction.

A pull returns what already waits, up to the batch size, or else the first event to arrive (it
does not wait for the batch to fill). Then the batch is applied:

1. the inbox claims of the whole batch are inserted in one statement (``claim_batch``): an event
   whose id was already claimed is a duplicate;
2. the newly claimed events' handlers run in fetch order inside one savepoint (a consecutive run of
   one type goes to that type's batch handler, when the consumer has one). If any raises, that
   savepoint is rolled back and each event is applied again in a savepoint of its own: the one
   that raises is rolled back alone (its claim released), the others stay;
3. one commit; only then is every applied or duplicate event acknowledged, a failed one negatively
   acknowledged with the consumer's backoff, a ``PermanentFailure`` terminated and a ``Deferred``
   one put off, exactly as the one-event consumers do.

So nothing is acknowledged before its effect is committed, nothing is applied twice, and a poison
event never holds back its neighbours. When the database does not answer, the whole batch is held
(in progress, its ack wait renewed) and applied again once it does, spending no deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import BadRequestError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, EventData
from clientpulse.shared.db import UnitCallbacks, unit_scope
from clientpulse.shared.messaging.core import Deferred, PermanentFailure, decode_envelope, not_yet, stream_config
from clientpulse.shared.messaging.inbox import claim_batch, release
from clientpulse.shared.telemetry import EVENT_HANDLE_SECONDS, EVENTS_HANDLED

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from clientpulse.shared.messaging.broker import ConsumerSpec, EventBus

_log = logging.getLogger("clientpulse.messaging")
_tracer = trace.get_tracer("clientpulse.messaging")

# How long one pull waits for a first event; a stop waits at most this long for the pull to end.
FETCH_WAIT_SECONDS = 1.0
# After NATS failed a pull (reconnecting), the pause before the next one.
PULL_RETRY_SECONDS = 0.5


# Applies a run of events of one type at once, with the effect of its one-event handler on each.
BatchHandler = Callable[[list[Envelope[Any]], AsyncSession], Awaitable[None]]


class RawMessage:
    """A raw JetStream message with the acknowledgement methods the consumer's outcomes use."""

    __slots__ = ("raw_message",)

    def __init__(self, msg: Msg) -> None:
        self.raw_message = msg

    async def ack(self) -> None:
        await self.raw_message.ack()

    async def nack(self, delay: float | None = None) -> None:
        await self.raw_message.nak(delay=delay)

    async def reject(self) -> None:
        await self.raw_message.term()

    async def in_progress(self) -> None:
        await self.raw_message.in_progress()


@dataclass(slots=True)
class Item:
    """One decoded event of a batch and what became of it."""

    message: RawMessage
    event: type[EventData]
    handler: Callable[[Envelope[Any], AsyncSession], Awaitable[None]]
    envelope: Envelope[Any]
    outcome: str = ""
    error: BaseException | None = None
    callbacks: list[UnitCallbacks] = field(default_factory=list)

    @property
    def log_extra(self) -> dict[str, Any]:
        return {"event_id": self.envelope.id, "event_type": self.event.event_type}


def _run_callbacks(items: list[Item], *, committed: bool) -> None:
    for item in items:
        for callbacks in item.callbacks:
            action = callbacks.committed if committed else callbacks.rolled_back
            if action is not None:
                action()
        item.callbacks = []


def _span(item: Item) -> Any:
    """The consumer span of one event, continuing the trace its producer recorded in the headers."""
    headers = item.message.raw_message.headers or {}
    return _tracer.start_as_current_span(
        f"{item.event.subject} process", context=propagate.extract(headers), kind=SpanKind.CONSUMER
    )


def _runs(items: list[Item]) -> list[list[Item]]:
    """Consecutive events of the same type, in fetch order."""
    runs: list[list[Item]] = []
    for item in items:
        if runs and runs[-1][0].event is item.event:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


async def _apply_together(session: AsyncSession, items: list[Item], batch_handlers: dict[Any, BatchHandler]) -> bool:
    """Every event in one savepoint (a type's batch handler takes its run of events at once); False,
    with nothing kept, when any of them raised (each is then applied in a savepoint of its own)."""
    try:
        async with session.begin_nested():
            for run in _runs(items):
                batch_handler = batch_handlers.get(run[0].event)
                if batch_handler is not None:
                    with unit_scope(session) as callbacks:
                        await batch_handler([item.envelope for item in run], session)
                        await session.flush()
                    run[0].callbacks = list(callbacks)
                    continue
                for item in run:
                    with _span(item), unit_scope(session) as callbacks:
                        await item.handler(item.envelope, session)
                        # Written before the next event's handler reads: sessions do not autoflush, and a
                        # handler that reloads a row (``populate_existing``) would drop unflushed changes.
                        await session.flush()
                    item.callbacks = list(callbacks)
    except Exception as exc:
        _log.debug("a batch of %d events did not apply together (%s); applying each alone", len(items), exc)
        for item in items:
            item.callbacks = []  # that attempt is replaced by the one-by-one attempts at once
        return False
    for item in items:
        item.outcome = "applied"
    return True


async def _apply_one(session: AsyncSession, item: Item) -> None:
    """Run one handler in a savepoint; its outcome (and callbacks) on ``item``."""
    with _span(item), unit_scope(session) as callbacks:
        try:
            async with session.begin_nested():
                await item.handler(item.envelope, session)
        except Exception as exc:
            item.error = exc
            item.outcome = "failed"
            if isinstance(exc, Deferred | PermanentFailure):
                item.outcome = "deferred" if isinstance(exc, Deferred) else "rejected"
            for undone in callbacks:
                if undone.rolled_back is not None:
                    undone.rolled_back()
            return
    item.outcome = "applied"
    item.callbacks = list(callbacks)


class BatchConsumer:
    """The pull loop of one batched durable consumer (see the module docstring)."""

    def __init__(self, bus: EventBus, spec: ConsumerSpec, *, batch_size: int) -> None:
        self.bus = bus
        self.spec = spec
        self.batch_size = 1 if spec.ordered else batch_size
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def consumer_config(self) -> ConsumerConfig:
        """The durable pull consumer, as the one-event consumers declare theirs."""
        return ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subject=self.spec.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=self.bus.max_deliver,
            ack_wait=self.bus.ack_wait,
            max_ack_pending=1 if self.spec.ordered else max(1000, self.batch_size * 4),
        )

    async def start(self, connection: NatsClient) -> None:
        """Declare the stream if needed, bind the durable consumer and start pulling."""
        js = connection.jetstream()
        with contextlib.suppress(BadRequestError):  # it exists, declared by its producer or another consumer
            await js.add_stream(stream_config(self.spec.stream, self.bus.stream_settings))
        self._subscription = await js.pull_subscribe(
            self.spec.filter_subject,
            durable=self.spec.durable,
            stream=self.spec.stream.value,
            config=self.consumer_config(),
        )
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"{self.spec.durable}-batches")

    async def stop(self, *, grace: float) -> None:
        """Finish the batch in hand (its commit and acks), then stop pulling."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _run(self) -> None:
        # The next batch is pulled while this one is applied, so the database and NATS work side by side.
        pulling: asyncio.Task[list[Msg]] = asyncio.create_task(self._pull())
        try:
            while not self._stopping.is_set():
                messages = await pulling
                pulling = asyncio.create_task(self._pull())
                if messages:
                    try:
                        await self.handle(messages)
                    except Exception:  # never lose the loop: what is unacknowledged comes back after the ack wait
                        _log.exception("a batch of %s could not be settled", self.spec.durable)
        finally:
            await self._give_back(pulling)

    async def _give_back(self, pulling: asyncio.Task[list[Msg]]) -> None:
        """Stopping: what the last pull brought is handed back at once (to another replica, or the next start)."""
        try:
            messages = await asyncio.wait_for(pulling, timeout=FETCH_WAIT_SECONDS + 1)
        except (Exception, asyncio.CancelledError):
            pulling.cancel()
            return
        for msg in messages:
            with contextlib.suppress(NatsError):
                await msg.nak()

    async def _pull(self) -> list[Msg]:
        """One pull; nothing when none arrived or NATS is away (after a pause)."""
        try:
            return await self.fetch()
        except (NatsError, TimeoutError) as exc:
            if not isinstance(exc, NatsTimeoutError):
                _log.debug("pull of %s failed (%s); pulling again", self.spec.durable, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=PULL_RETRY_SECONDS)
            return []

    async def fetch(self) -> list[Msg]:
        """What already waits, up to the batch size, or the first event to arrive within the fetch wait."""
        assert self._subscription is not None
        return await self._subscription.fetch(self.batch_size, timeout=FETCH_WAIT_SECONDS)

    async def handle(self, messages: list[Msg]) -> None:
        """Apply one fetched batch and settle every message of it."""
        started = time.perf_counter()
        items = [item for msg in messages if (item := await self._triage(RawMessage(msg))) is not None]
        if not items:
            return
        try:
            await self.bus.apply_holding_while_database_down(
                lambda: self._apply(items), self._keep_all(items), {"consumer": self.spec.durable}
            )
        except Exception as exc:
            _log.warning("a batch of %d events failed as a whole: %s", len(items), exc)
            for item in items:
                item.outcome, item.error = "failed", exc
        elapsed = time.perf_counter() - started
        await self._acknowledge_applied([item for item in items if item.outcome == "applied"], elapsed)
        for item in items:
            if item.outcome != "applied":
                await self._settle(item, elapsed)

    async def _acknowledge_applied(self, applied: list[Item], elapsed: float) -> None:
        """The committed events: acknowledged, then counted (the metrics' children looked up once a batch)."""
        acknowledged = 0
        try:
            for item in applied:
                await item.message.ack()
                acknowledged += 1
        except NatsError as exc:
            _log.warning("could not acknowledge %d events (%s); they will be redelivered", len(applied), exc)
        if acknowledged:
            EVENTS_HANDLED.labels(self.bus.service, self.spec.durable, "applied").inc(acknowledged)
            seconds = EVENT_HANDLE_SECONDS.labels(self.bus.service, self.spec.durable)
            for _ in range(acknowledged):
                seconds.observe(elapsed)

    @staticmethod
    def _keep_all(items: list[Item]) -> Callable[[], Awaitable[None]]:
        async def keep() -> None:
            for item in items:
                await item.message.in_progress()

        return keep

    async def _triage(self, message: RawMessage) -> Item | None:
        """Settle at once what needs no database (not ours, not yet due, not decodable); decode the rest."""
        raw = message.raw_message
        routed = self.spec.by_subject.get(raw.subject)
        if routed is None:
            await message.ack()  # a newer event type under the same wildcard: not ours to handle
            return None
        if (wait := not_yet(raw.headers)) is not None:
            await message.nack(delay=wait)
            return None
        event, handler = routed
        try:
            envelope = decode_envelope(event, raw.data)
        except (ValidationError, ValueError) as exc:
            _log.error(
                "rejected an event that does not match %s: %s",
                event.event_type,
                exc,
                extra={"consumer": self.spec.durable, "subject": raw.subject},
            )
            EVENTS_HANDLED.labels(self.bus.service, self.spec.durable, "rejected").inc()
            await message.reject()
            return None
        return Item(message=message, event=event, handler=handler, envelope=envelope)

    async def _apply(self, items: list[Item]) -> str:
        """The batch's unit of work: one claim statement, the events in one savepoint (or, when one of
        them raised, a savepoint each), one commit."""
        for item in items:
            item.outcome, item.error, item.callbacks = "", None, []
        try:
            async with self.bus.database.transaction() as session:
                fresh = await claim_batch(session, self.spec.durable, [item.envelope.id for item in items])
                claimed: list[Item] = []
                for item in items:
                    if item.envelope.id not in fresh:
                        item.outcome = "duplicate"
                        continue
                    fresh.discard(item.envelope.id)  # the same id twice in one batch: the second is a duplicate
                    claimed.append(item)
                if claimed and not await _apply_together(session, claimed, self.spec.batch_handlers):
                    for item in claimed:
                        await _apply_one(session, item)
                await release(session, self.spec.durable, [i.envelope.id for i in claimed if i.outcome != "applied"])
        except BaseException:
            _run_callbacks(items, committed=False)
            raise
        _run_callbacks(items, committed=True)
        return "applied"

    async def _settle(self, item: Item, elapsed: float) -> None:
        """Acknowledge (the batch has committed), retry, dead-letter or defer one event."""
        service, durable = self.bus.service, self.spec.durable
        log_extra = {"consumer": durable, **item.log_extra}
        try:
            if item.outcome in ("applied", "duplicate"):
                await item.message.ack()
                EVENTS_HANDLED.labels(service, durable, item.outcome).inc()
                EVENT_HANDLE_SECONDS.labels(service, durable).observe(elapsed)
                if item.outcome == "duplicate":
                    _log.info("duplicate event ignored", extra=log_extra)
            elif item.outcome == "deferred" and isinstance(item.error, Deferred):
                await self.bus._defer(self.spec, item.message, item.envelope.id, item.error, log_extra)  # type: ignore[arg-type]
            elif item.outcome == "rejected":
                _log.error("event can never be applied, dead-lettering it: %s", item.error, extra=log_extra)
                EVENTS_HANDLED.labels(service, durable, "rejected").inc()
                await item.message.reject()
            else:
                await self.bus.retry_later(self.spec, item.message, item.error, log_extra)  # type: ignore[arg-type]
        except NatsError as exc:
            # NATS is away: the message comes back after its ack wait, and its inbox claim (if committed) holds.
            _log.warning("could not settle an event (%s); it will be redelivered", exc, extra=log_extra)
