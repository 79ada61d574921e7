"""Pipelined JetStream publishing for the outbox relay: a batch is sent at once, its acknowledgements
gathered by one subscription.

``js.publish`` makes a request per message (a future, a timer and a JSON decode each), which costs
the relay more than reading and marking its rows. Here every message of a batch goes out with a
reply subject of its own under one inbox; a single subscription records each acknowledgement, and the
batch is settled when all have come back or its timeout ends (what has not come back counts as failed,
and the row is published again, harmlessly: ``Nats-Msg-Id`` deduplicates it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import APIError

from clientpulse.shared.messaging.core import MSG_ID_HEADER

EXPECTED_STREAM_HEADER = "Nats-Expected-Stream"
STATUS_HEADER = "Status"


@dataclass(frozen=True, slots=True)
class Publication:
    """One message for JetStream."""

    subject: str
    payload: bytes
    stream: str
    msg_id: str
    headers: dict[str, str]


@dataclass(slots=True)
class _Batch:
    results: list[BaseException | None]
    remaining: int
    done: asyncio.Future[None]
    answered: set[int] = field(default_factory=set)


def _outcome(msg: Msg) -> BaseException | None:
    """None for a stored message; the error JetStream (or NATS) answered otherwise."""
    if msg.headers and msg.headers.get(STATUS_HEADER) == "503":
        return NoRespondersError()
    if b'"error"' in msg.data:
        try:
            error = json.loads(msg.data).get("error") or {}
        except ValueError:
            error = {}
        return APIError(code=error.get("code"), err_code=error.get("err_code"), description=error.get("description"))
    return None


class PipelinedPublisher:
    """Sends batches to JetStream over the connection ``connection()`` returns (see the module docstring)."""

    def __init__(self, connection: Callable[[], NatsClient], *, timeout: float = 5.0) -> None:
        self._connection = connection
        self._timeout = timeout
        self._subscription: Subscription | None = None
        self._subscribed_on: NatsClient | None = None
        self._prefix = ""
        self._numbers = itertools.count()
        self._batches: dict[str, _Batch] = {}

    async def _ensure_subscription(self, connection: NatsClient) -> None:
        if self._subscription is not None and self._subscribed_on is connection:
            return
        self._prefix = connection.new_inbox()
        self._subscription = await connection.subscribe(f"{self._prefix}.>", cb=self._on_ack)
        self._subscribed_on = connection

    async def _on_ack(self, msg: Msg) -> None:
        _, batch_id, index = msg.subject.rsplit(".", 2)
        batch = self._batches.get(batch_id)
        if batch is None or not index.isdigit():
            return  # an acknowledgement after its batch timed out
        number = int(index)
        if number in batch.answered or number >= len(batch.results):
            return
        batch.answered.add(number)
        batch.results[number] = _outcome(msg)
        batch.remaining -= 1
        if batch.remaining == 0 and not batch.done.done():
            batch.done.set_result(None)

    async def send(self, publications: Sequence[Publication]) -> Awaitable[list[BaseException | None]]:
        """Send every publication now, in order; returns what to await for their outcomes (None: stored)."""
        connection = self._connection()
        await self._ensure_subscription(connection)
        batch_id = str(next(self._numbers))
        batch = _Batch(
            results=[NatsTimeoutError() for _ in publications],
            remaining=len(publications),
            done=asyncio.get_running_loop().create_future(),
        )
        self._batches[batch_id] = batch
        try:
            for index, publication in enumerate(publications):
                headers = {
                    **publication.headers,
                    MSG_ID_HEADER: publication.msg_id,
                    EXPECTED_STREAM_HEADER: publication.stream,
                }
                await connection.publish(
                    publication.subject,
                    publication.payload,
                    reply=f"{self._prefix}.{batch_id}.{index}",
                    headers=headers,
                )
        except BaseException:
            self._batches.pop(batch_id, None)
            raise
        if not publications:
            batch.done.set_result(None)
        return self._outcomes(batch_id, batch)

    async def _outcomes(self, batch_id: str, batch: _Batch) -> list[BaseException | None]:
        try:
            await asyncio.wait_for(asyncio.shield(batch.done), timeout=self._timeout)
        except TimeoutError:
            pass
        finally:
            self._batches.pop(batch_id, None)
        return batch.results

    async def close(self) -> None:
        """Stop listening for acknowledgements."""
        if self._subscription is not None:
            with contextlib.suppress(Exception):  # the connection is closing anyway
                await self._subscription.unsubscribe()
        self._subscription = None
        self._subscribed_on = None
