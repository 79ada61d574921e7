"""Live streams end with their farewell once the shutdown is announced, from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from clientpulse.shared.shutdown import Shutdown, until_shutdown


async def endless(closed: list[str]) -> AsyncIterator[str]:
    try:
        yield "first"
        yield "second"
        await asyncio.Event().wait()  # nothing more, ever: like a quiet live stream
        yield "never"
    finally:
        closed.append("closed")


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [event async for event in stream]


async def test_a_stream_ends_with_its_farewell_when_the_shutdown_is_announced() -> None:
    shutdown, closed = Shutdown(), []
    reading = asyncio.ensure_future(collect(until_shutdown(endless(closed), lambda: "farewell", shutdown)))
    await asyncio.sleep(0.05)
    assert not reading.done()
    shutdown.request()
    assert await asyncio.wait_for(reading, 5) == ["first", "second", "farewell"]
    assert closed == ["closed"]


async def test_no_farewell_is_written_when_it_would_break_an_event() -> None:
    shutdown = Shutdown()
    reading = asyncio.ensure_future(collect(until_shutdown(endless([]), lambda: None, shutdown)))
    await asyncio.sleep(0.05)
    shutdown.request()
    assert await asyncio.wait_for(reading, 5) == ["first", "second"]


async def test_a_stream_that_ends_by_itself_gets_no_farewell() -> None:
    async def two() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    assert await collect(until_shutdown(two(), lambda: "farewell", Shutdown())) == ["a", "b"]


async def test_a_stream_opened_after_the_announcement_ends_at_once() -> None:
    shutdown = Shutdown()
    shutdown.request()
    events = await asyncio.wait_for(collect(until_shutdown(endless([]), lambda: "farewell", shutdown)), 5)
    assert events[-1] == "farewell"


async def test_an_announcement_from_another_thread_wakes_the_loop() -> None:
    shutdown = Shutdown()
    reading = asyncio.ensure_future(collect(until_shutdown(endless([]), lambda: "farewell", shutdown)))
    await asyncio.sleep(0.05)
    threading.Thread(target=shutdown.request).start()
    assert (await asyncio.wait_for(reading, 5))[-1] == "farewell"
    assert shutdown.requested
