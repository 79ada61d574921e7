"""Score Now → the DM's live stream, end to end: from the start of a DM's ``POST …/tiering/scores`` through
the gateway to the ``tier_changed`` notification arriving on that DM's live stream (``GET
/api/v1/me/notifications/stream``, through the gateway), at a steady rate, with every service a process on
PostgreSQL and NATS as in production (the e2e tests' harness, the outbox relay's default poll).

The path: gateway → tiering (the score, its TierChanged in the outbox, one commit) → relay → NATS →
notifications' batched consumer (the notification, one commit) → the stream's wake-up → gateway → DM.

Baseline, same run, same rate, same client: a DM's role-checked ``GET /api/v1/clients/{id}`` through the
gateway, request to response (the two HTTP hops without the event backbone). Each Score Now alternates a
client between two sets of ratings a tier apart, so every one changes the tier; a notification that never
arrives counts as infinitely late. Figures are p50 and p99 over a round's requests, medians over rounds.
Target: p99 ≤ 50 ms at 200 Score Now per second, in every round.

usage: python bench/score_now_latency.py [--rate 200] [--seconds 10] [--rounds 3] [--clients 100]
                                         [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from event_latency import percentile, print_split, print_summary, steady  # noqa: E402
from harness import System, running_system  # noqa: E402

from clientpulse.shared.identity import Role  # noqa: E402

DM, SQUAD = "u-42", "s-1"
TRACK = "managed_delivery"
# A tier apart whatever the client's revenue: every Score Now that switches between them changes the tier.
RATINGS = (
    {"profitability": 5, "strategic_value": 5, "relationship_quality": 5},
    {"profitability": 1, "strategic_value": 1, "relationship_quality": 1},
)
# The path is measured, not the gateway's per-user rate limit (bench/gateway_rate_limit.py measures that).
UNLIMITED = {"CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "6000000", "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "1000000"}


class LiveStream:
    """The DM's live stream, read in the background: when each receipt's notification arrived."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.arrived: dict[str, float] = {}  # receipt id → when its notification arrived (wall clock)
        self.created: dict[str, float] = {}  # receipt id → the notification's created_at
        self.opened = asyncio.Event()
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveStream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.opened.wait(), timeout=10)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        async with self.http.stream("GET", "/api/v1/me/notifications/stream", timeout=None) as response:
            response.raise_for_status()
            self.opened.set()
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    notification = json.loads(line[5:])
                    if notification.get("rule") == "tier_changed" and "#" in (notification.get("link") or ""):
                        receipt = notification["link"].rsplit("#", 1)[1]
                        self.arrived.setdefault(receipt, time.time())
                        self.created[receipt] = datetime.fromisoformat(notification["created_at"]).timestamp()
                        self.changed.set()

    async def receive(self, receipts: set[str], seconds: float) -> None:
        """Until every receipt's notification arrived, or ``seconds`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not receipts <= self.arrived.keys():
                    self.changed.clear()
                    await self.changed.wait()


def cpu_seconds() -> tuple[float, float]:
    """The machine's busy and elapsed CPU seconds so far, over all cores (``/proc/stat``; zeros elsewhere)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / 100, sum(fields) / 100  # USER_HZ is 100 on Linux


class CpuUse:
    """The whole machine's CPU over a round (the services, PostgreSQL, NATS and this load generator)."""

    def __enter__(self) -> CpuUse:
        self.busy, self.total = cpu_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        busy, total = cpu_seconds()
        self.busy, self.total = busy - self.busy, total - self.total

    def per_request(self, requests: int) -> float:
        """Milliseconds of the machine's CPU per request (0 where ``/proc/stat`` is not there)."""
        return self.busy * 1000 / max(requests, 1)

    def describe(self, requests: int) -> str:
        if not self.total:
            return "CPU use unknown"
        return f"CPU {self.busy / self.total:.0%} busy, {self.per_request(requests):.1f} ms per request"


async def answered(expected: int, responses: list[Any], done: asyncio.Event) -> None:
    """Until ``expected`` requests have answered (``done`` is set by the last)."""
    if len(responses) < expected:
        await asyncio.wait_for(done.wait(), timeout=60)


async def score_round(
    dm: httpx.AsyncClient, stream: LiveStream, clients: list[str], flips: list[int], args: Any
) -> list[float]:
    """Score Now at the steady rate; each request's latency to its notification on the stream."""
    started: dict[str, float] = {}
    failures: list[str] = []
    answers: list[Any] = []
    responded: list[float] = []
    expected, all_answered = int(args.rate * args.seconds), asyncio.Event()

    async def send(n: int) -> None:
        index = n % len(clients)
        flips[index] += 1
        began = time.time()
        response = await dm.post(
            f"/api/v1/clients/{clients[index]}/tiering/scores",
            json={"track": TRACK, "ratings": RATINGS[flips[index] % 2]},
        )
        if response.status_code != 201:
            failures.append(f"{response.status_code} {response.text[:200]}")
        else:
            started[response.json()["receipt"]["id"]] = began
            responded.append(time.time() - began)
        answers.append(response)
        if len(answers) == expected:
            all_answered.set()

    await steady(args.rate, args.seconds, send)
    await answered(expected, answers, all_answered)
    await stream.receive(set(started), 30)
    if failures:
        raise RuntimeError(f"{len(failures)} Score Now requests failed, the first: {failures[0]}")
    parts = {
        "the request": responded,
        "start → notification created": [
            stream.created[r] - began for r, began in started.items() if r in stream.created
        ],
        "created → on the stream": [stream.arrived[r] - stream.created[r] for r in started if r in stream.arrived],
    }
    print_split(parts)
    return [stream.arrived[r] - began if r in stream.arrived else math.inf for r, began in started.items()]


async def read_round(dm: httpx.AsyncClient, clients: list[str], args: Any) -> list[float]:
    """The baseline: the role-checked client read through the gateway at the same rate."""
    latencies: list[float] = []
    expected, all_answered = int(args.rate * args.seconds), asyncio.Event()

    async def send(n: int) -> None:
        began = time.perf_counter()
        response = await dm.get(f"/api/v1/clients/{clients[n % len(clients)]}")
        response.raise_for_status()
        latencies.append(time.perf_counter() - began)
        if len(latencies) == expected:
            all_answered.set()

    await steady(args.rate, args.seconds, send)
    await answered(expected, latencies, all_answered)
    return latencies


async def prepare(system: System, count: int) -> list[str]:
    """``count`` Active clients of the DM, each known to tiering and notifications (one Score Now each)."""
    executive = {"Authorization": f"Bearer {system.token(Role.EXECUTIVE, 'u-exec')}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, headers=executive, timeout=30) as http:
        clients = []
        for n in range(count):
            company = (await http.post("/api/v1/companies", json={"name": f"Latency Co {n:03d}"})).raise_for_status()
            converted = await http.post(
                f"/api/v1/companies/{company.json()['id']}/convert",
                json={"status": "Active", "dm_id": DM, "squad_id": SQUAD},
            )
            clients.append(str(converted.raise_for_status().json()["id"]))
    return clients


async def bench(system: System, args: argparse.Namespace) -> None:
    clients = await prepare(system, args.clients)
    flips = [0] * len(clients)
    token = system.token(Role.MANAGER, DM, SQUAD, ttl=24 * 3600)
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    async with (
        httpx.AsyncClient(
            base_url=system.gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits
        ) as dm,
        LiveStream(dm) as stream,
    ):
        await warm_up(dm, stream, clients, flips)
        ours: list[tuple[float, float]] = []
        base: list[tuple[float, float]] = []
        cpu: list[float] = []
        for round_number in range(1, args.rounds + 1):
            with CpuUse() as reading:
                reads = await read_round(dm, clients, args)
            with CpuUse() as scoring:
                scored = await score_round(dm, stream, clients, flips, args)
            base.append((percentile(reads, 0.5) * 1000, percentile(reads, 0.99) * 1000))
            ours.append((percentile(scored, 0.5) * 1000, percentile(scored, 0.99) * 1000))
            cpu.append(scoring.per_request(len(scored)))
            missing = sum(1 for latency in scored if math.isinf(latency))
            print(
                f"round {round_number} ({len(scored)} at {args.rate:g}/s): client read p50 {base[-1][0]:.1f} ms "
                f"p99 {base[-1][1]:.1f} ms; Score Now → stream p50 {ours[-1][0]:.1f} ms p99 {ours[-1][1]:.1f} ms "
                f"(max {max(scored) * 1000:.1f} ms, {missing} never arrived)\n"
                f"  machine: reads {reading.describe(len(reads))}; Score Now {scoring.describe(len(scored))}",
                flush=True,
            )
    print_summary("client read through the gateway", base, "Score Now → the DM's live stream", ours)
    if per_request := statistics.median(cpu):
        cores = os.cpu_count() or 1
        print(
            f"the machine's CPU per Score Now (every service, PostgreSQL, NATS, this load generator): median "
            f"{per_request:.1f} ms, so at most about {cores * 1000 / per_request:.0f} per second on its {cores} cores"
        )


async def warm_up(dm: httpx.AsyncClient, stream: LiveStream, clients: list[str], flips: list[int]) -> None:
    """One Score Now per client, once tiering knows it, and its notification on the stream (the client is
    then in notifications' directory too)."""
    receipts: set[str] = set()
    for index, client in enumerate(clients):
        deadline = time.monotonic() + 30
        while (await dm.get(f"/api/v1/clients/{client}/tiering")).status_code == 404:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tiering never learned of client {client}")
            await asyncio.sleep(0.1)
        scored = await dm.post(
            f"/api/v1/clients/{client}/tiering/scores", json={"track": TRACK, "ratings": RATINGS[flips[index] % 2]}
        )
        receipts.add(scored.raise_for_status().json()["receipt"]["id"])
    await stream.receive(receipts, 60)
    if not receipts <= stream.arrived.keys():
        raise RuntimeError(f"{len(receipts - stream.arrived.keys())} warm-up notifications never reached the stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    env = {**UNLIMITED, "CLIENTPULSE_OUTBOX_POLL_INTERVAL": "0.5", "CLIENTPULSE_LOG_LEVEL": "WARNING"}
    with (
        tempfile.TemporaryDirectory() as folder,
        running_system(args.url, Path(folder), name="bench", env=env) as system,
    ):
        asyncio.run(bench(system, args))


if __name__ == "__main__":
    main()
