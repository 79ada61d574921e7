"""Gateway overhead: a role-checked client read through the gateway against the same read called
on the clients service directly, in the same run (docs/quality.md: ≥ 50 % of the direct throughput).

The whole system runs as in `make run` (SQLite, embedded NATS) in a temporary folder. The read is
``GET /api/v1/clients/{id}`` as a Manager of the client's squad: through the gateway it is JWT
verification, the role guard, routing, a signed identity and one pooled upstream hop; directly it
is the same service call with a signed identity header. Rounds alternate (direct, gateway, …) so
drift on a shared machine hits both; the figures are medians over the rounds.

usage: python bench/gateway_hop.py [--seconds 5] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from clientpulse.shared.demo import dev_tokens
from clientpulse.shared.devstack import Stack, free_ports
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.settings import DEV_IDENTITY_SECRET

HERE = Path(__file__).parent
# The per-user rate limit protects production; here one user is the whole load.
UNLIMITED = {"CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000", "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "100000"}


def run_load(url: str, seconds: float, connections: int, headers: dict[str, str]) -> dict:
    command = [sys.executable, str(HERE / "loadgen.py"), url, str(seconds), str(connections)]
    command += [f"{k}:{v}" for k, v in headers.items()]
    return json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--clients-database-url", default=None, help="a PostgreSQL URL for the clients service (default: SQLite)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        # The per-user rate limit protects production; here one user is the whole load.
        databases = {"clients": args.clients_database_url} if args.clients_database_url else {}
        stack = Stack(
            var_dir=Path(folder),
            nats_port=free_port(),
            ports=free_ports(),  # beside a running `make run`
            database_urls=databases,
            env={
                "CLIENTPULSE_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
                "CLIENTPULSE_GATEWAY_RATE_LIMIT_BURST": "100000",
            },
        )
        stack.start()
        try:
            tokens = dev_tokens()
            executive = {"Authorization": f"Bearer {tokens[Role.EXECUTIVE]}"}
            with httpx.Client(base_url=stack.gateway_url, headers=executive) as api:
                company = api.post("/api/v1/companies", json={"name": "Bench Co"}).json()
                api.post(f"/api/v1/companies/{company['id']}/convert", json={"dm_id": "u-42", "squad_id": "s-1"})
            path = f"/api/v1/clients/{company['id']}"
            through_gateway = {"Authorization": f"Bearer {tokens[Role.MANAGER]}"}
            manager = Identity("u-42", Role.MANAGER, "s-1", "u-42")
            # The forwarded identity lives 60 s: sign one per round.
            results: dict[str, list[dict]] = {"direct": [], "gateway": []}
            run_load(stack.gateway_url + path, 1.0, args.connections, through_gateway)  # warm-up
            for _ in range(args.rounds):
                direct = {IDENTITY_HEADER: sign_identity(manager, DEV_IDENTITY_SECRET)}
                results["direct"].append(
                    run_load(stack.service_url("clients") + path, args.seconds, args.connections, direct)
                )
                results["gateway"].append(
                    run_load(stack.gateway_url + path, args.seconds, args.connections, through_gateway)
                )
        finally:
            stack.stop()

    direct_rps = statistics.median(r["rps"] for r in results["direct"])
    gateway_rps = statistics.median(r["rps"] for r in results["gateway"])
    direct_p50 = statistics.median(r["p50_ms"] for r in results["direct"])
    gateway_p50 = statistics.median(r["p50_ms"] for r in results["gateway"])
    errors = sum(r["errors"] for rounds in results.values() for r in rounds)
    print(f"role-checked client read, {args.connections} connections, {args.rounds} rounds of {args.seconds:.0f} s")
    print(f"  baseline  clients service directly   {direct_rps:8.0f} req/s   p50 {direct_p50:.1f} ms")
    print(f"  measured  through the gateway        {gateway_rps:8.0f} req/s   p50 {gateway_p50:.1f} ms")
    print(f"  ratio     {gateway_rps / direct_rps:.0%} of direct (target ≥ 50 %); non-200 responses: {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
