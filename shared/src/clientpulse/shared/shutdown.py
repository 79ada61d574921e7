"""Graceful shutdown: on SIGTERM, end live streams at once, let in-flight work finish, exit 0.

uvicorn's own graceful shutdown waits for every open connection to finish, and a live stream
(Server-Sent Events) never finishes by itself: without help, a stopping process held its streams
until ``DRAIN_SECONDS`` ran out, then re-raised the signal and died of it (exit status 143, which
Kubernetes reports as an error). Here the signal first announces the shutdown to every stream
(``until_shutdown``), which sends its farewell (an SSE comment and a ``retry:`` hint, so the
browser reconnects at once, to another replica) and ends; uvicorn then stops accepting, lets the
requests in flight finish, runs the lifespan shutdown (the broker drains its event handlers and the
outbox relay stops), and ``serve`` returns 0. See docs/architecture.md, "Graceful shutdown".
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Generator
from types import FrameType
from typing import TypeVar

import uvicorn

# The upper bound uvicorn gives requests still in flight; the chart's terminationGracePeriodSeconds
# must exceed it plus the preStop pause (deploy/helm/clientpulse/templates/deployment.yaml).
DRAIN_SECONDS = 20
# How soon a browser told of the shutdown reconnects (through the load balancer, to another replica).
RECONNECT_MILLISECONDS = 500
# The farewell a relaying process writes on an event stream it ends: a comment line and the hint.
SSE_FAREWELL = f": shutting down\nretry: {RECONNECT_MILLISECONDS}\n\n".encode()
# Exit status uvicorn uses when the app failed to start.
STARTUP_FAILURE = 3

T = TypeVar("T")


class Shutdown:
    """Set once, when the process has been asked to stop; live streams wait on it.

    Safe to set from a signal handler or another thread: every event loop that waits is woken
    through ``call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self._requested = False
        self._lock = threading.Lock()
        self._waiting: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    @property
    def requested(self) -> bool:
        """True once the process is stopping."""
        return self._requested

    def request(self) -> None:
        """Announce the shutdown to everything waiting on it."""
        with self._lock:
            self._requested = True
            waiting = list(self._waiting.items())
        for loop, event in waiting:
            with contextlib.suppress(RuntimeError):  # a loop that has closed has nothing left to wake
                loop.call_soon_threadsafe(event.set)

    async def wait(self) -> None:
        """Until the shutdown is announced (at once if it already was)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._requested:
                return
            event = self._waiting.setdefault(loop, asyncio.Event())
        await event.wait()


# The one a served process announces on SIGTERM or SIGINT (see ``serve``).
PROCESS_SHUTDOWN = Shutdown()


async def until_shutdown(
    events: AsyncIterator[T], farewell: Callable[[], T | None], shutdown: Shutdown = PROCESS_SHUTDOWN
) -> AsyncIterator[T]:
    """``events`` as they come until the shutdown is announced; then ``farewell()`` (unless None) and the end.

    The event being awaited when the shutdown comes is cancelled, and ``events`` is closed either way.
    """
    stop = asyncio.ensure_future(shutdown.wait())
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, stop}, return_when=asyncio.FIRST_COMPLETED)
            if following.done():
                try:
                    event = following.result()
                except StopAsyncIteration:
                    return
                yield event
                continue
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await following
            last = farewell()
            if last is not None:
                yield last
            return
    finally:
        stop.cancel()
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


class _Server(uvicorn.Server):
    """uvicorn's server, whose SIGTERM and SIGINT announce the shutdown and end in a return, not a re-raise."""

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self.announcement = shutdown

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn's own handlers re-raise the signal after a graceful shutdown, so a drained
        # process died of its SIGTERM (exit status 143); these stop it and let ``serve`` return 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for anything
        self.should_exit = True
        self.announcement.request()


def serve(
    app_factory: str,
    *,
    host: str,
    port: int,
    shutdown: Shutdown = PROCESS_SHUTDOWN,
    drain_seconds: float = DRAIN_SECONDS,
    proxy_headers: bool = True,
) -> int:
    """Run an app factory (``module:function``) under uvicorn until SIGTERM or SIGINT; the exit status.

    0 after a clean drain (streams told to reconnect elsewhere, requests in flight finished,
    lifespan shutdown run); ``STARTUP_FAILURE`` when the app did not start.
    """
    config = uvicorn.Config(
        app_factory,
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=proxy_headers,
        lifespan="on",
        timeout_graceful_shutdown=int(drain_seconds),
    )
    server = _Server(config, shutdown)
    server.run()
    return 0 if server.started else STARTUP_FAILURE
