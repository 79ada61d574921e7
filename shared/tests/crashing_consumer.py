"""Runs the probe consumer as its own process. With ``--die-before-ack`` the process kills itself
right after the handler's transaction commits and before the message is acknowledged, as a
SIGKILL at the worst moment would.

usage: python crashing_consumer.py DATABASE_URL NATS_URL [--die-before-ack] [--seconds N]
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from probe_testkit import create_tables, probe_bus

from clientpulse.shared.db import Database
from clientpulse.shared.telemetry import EVENTS_HANDLED


async def main() -> None:
    url, nats_url = sys.argv[1], sys.argv[2]
    die = "--die-before-ack" in sys.argv
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8.0
    if die:
        from faststream.nats.message import NatsMessage

        async def die_instead_of_ack(self: NatsMessage) -> None:
            os._exit(137)

        NatsMessage.ack = die_instead_of_ack  # type: ignore[method-assign]
    database = Database(url)
    await create_tables(database)
    bus = probe_bus(database, nats_url, ack_wait=1.0)
    await bus.start()
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    duplicates = EVENTS_HANDLED.labels("probe", "probe-deal-won", "duplicate")._value.get()
    print(f"duplicates={int(duplicates)}", flush=True)
    await bus.stop()
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
