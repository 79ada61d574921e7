"""A small closed-loop HTTP load generator (aiohttp, N keep-alive connections, fixed duration).

usage: python loadgen.py URL SECONDS CONNECTIONS [HEADER:VALUE ...]
prints one JSON line: {"requests": n, "seconds": s, "rps": r, "errors": e, "p50_ms": …, "p99_ms": …}
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import aiohttp


async def main() -> None:
    url, seconds, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    headers = dict(h.split(":", 1) for h in sys.argv[4:])
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": round(elapsed, 3),
                "rps": round(len(latencies) / elapsed, 1),
                "errors": errors,
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
