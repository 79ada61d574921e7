"""The gateway's per-caller rate limit: this replica's token bucket against the count shared in NATS.

Three gateway processes run side by side (``clientpulse-gateway serve``, uvicorn, one worker each)
against one NATS of the benchmark's own: the in-memory limiter (the baseline), the shared limiter
reserving one request per round trip (exact), and the shared limiter with the default lease (4
requests per round trip). The load is ``GET /api/v1/me``, which the gateway answers itself after
the token check and the rate limit, so the limiter is the only difference. Limits are set far above
the load (nothing is refused); the callers are ``--users`` distinct tokens spread over the
connections. Rounds alternate between the gateways so drift on a shared machine hits all; figures
are medians over the rounds, with the ratio to the in-memory limiter.

usage: python bench/gateway_rate_limit.py [--seconds 3] [--rounds 7] [--connections 32] [--users 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
from pydantic import SecretStr

from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.identity import Role
from clientpulse.shared.tokens import JwtSettings, mint_token

JWT_SECRET = "bench-gateway-rate-limit-jwt-secret-0123456789"  # noqa: S105 - a throwaway local gateway
# Far above the load: the benchmark measures the cost of counting, not refusals.
HIGH_LIMIT = {
    "CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "600000000",
    "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "10000000",
}
VARIANTS = {
    "in-memory": {"CLIENTPULSE_GATEWAY_RATE_LIMIT_SHARED": "false"},
    "shared, lease 1": {
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_SHARED": "true",
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_SHARED_LEASE": "1",
    },
    "shared, lease 4": {
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_SHARED": "true",
        "CLIENTPULSE_GATEWAY_RATE_LIMIT_SHARED_LEASE": "4",
    },
}


async def load(url: str, seconds: float, connections: int, tokens: list[str]) -> dict[str, float]:
    """A closed loop: ``connections`` keep-alive connections, each its own caller, for ``seconds``."""
    latencies: list[float] = []
    refused = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker(token: str) -> None:
            nonlocal refused
            headers = {"Authorization": f"Bearer {token}"}
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    refused += response.status != 200
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker(tokens[i % len(tokens)]) for i in range(connections)))
        elapsed = time.perf_counter() - began
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "not_200": refused,
    }


def start_gateway(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = os.environ | env | {"CLIENTPULSE_GATEWAY_PORT": str(port)}
    executable = Path(sys.executable).parent / "clientpulse-gateway"
    process = subprocess.Popen(
        [str(executable), "serve"], env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the gateway did not start; see {log}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=32, help="distinct callers spread over the connections")
    args = parser.parse_args()

    jwt = JwtSettings(secret=SecretStr(JWT_SECRET))
    tokens = [mint_token(jwt, sub=f"u-bench-{i}", role=Role.MANAGER) for i in range(args.users)]
    with tempfile.TemporaryDirectory() as folder:
        nats = NatsServerProcess(Path(folder) / "nats", port=free_port()).start()
        common = HIGH_LIMIT | {
            "CLIENTPULSE_NATS_URL": nats.url,
            "CLIENTPULSE_JWT_SECRET": JWT_SECRET,
            "CLIENTPULSE_LOG_LEVEL": "WARNING",
        }
        gateways: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        try:
            for index, (name, env) in enumerate(VARIANTS.items()):
                gateways[name] = start_gateway(common | env, Path(folder) / f"gateway-{index}.log")
            results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
            for _, url in gateways.values():  # warm-up: connections, the bucket, caches
                asyncio.run(load(f"{url}/api/v1/me", 1.0, args.connections, tokens))
            for round_number in range(args.rounds):
                for name, (_, url) in gateways.items():
                    figures = asyncio.run(load(f"{url}/api/v1/me", args.seconds, args.connections, tokens))
                    results[name].append(figures)
                    print(
                        f"round {round_number + 1} {name:>16}: {figures['rps']:8.0f} req/s, "
                        f"p50 {figures['p50_ms']:6.2f} ms, not 200: {figures['not_200']:.0f}",
                        file=sys.stderr,
                    )
        finally:
            for process, _ in gateways.values():
                process.terminate()
                process.wait(timeout=30)
            nats.stop()

    baseline_rps = statistics.median(r["rps"] for r in results["in-memory"])
    baseline_p50 = statistics.median(r["p50_ms"] for r in results["in-memory"])
    print(
        f"GET /api/v1/me, {args.connections} connections, {args.users} callers, "
        f"{args.rounds} rounds of {args.seconds:.0f} s (medians)"
    )
    print(f"{'limiter':>16}  {'req/s':>8}  {'p50 ms':>7}  {'req/s vs in-memory':>18}  {'p50 vs in-memory':>16}")
    for name, rounds in results.items():
        rps = statistics.median(r["rps"] for r in rounds)
        p50 = statistics.median(r["p50_ms"] for r in rounds)
        print(f"{name:>16}  {rps:8.0f}  {p50:7.2f}  {rps / baseline_rps:17.2f}x  {p50 / baseline_p50:15.2f}x")
    failed = sum(r["not_200"] for rounds in results.values() for r in rounds)
    if failed:
        print(f"{failed:.0f} requests were not answered 200: the figures are not comparable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
