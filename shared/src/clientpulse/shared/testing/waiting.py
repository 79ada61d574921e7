"""Waiting for what crosses the bus: events are asynchronous, so tests poll with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``within`` seconds pass; True when it became true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(interval)
    return await condition()
