"""The read path: the clients service's role-checked ``GET /api/v1/clients/{id}``, called directly with a
signed identity (as the gateway forwards it), against a bare Litestar app reading the same row with the
same engine and driver (``bench/bare_read.py``), in the same run (target: ≥ 0.7× the bare read).

The clients service runs as a process (``clientpulse-clients serve``, its own NATS), on PostgreSQL and on
SQLite; the bare app runs beside it on the same database. Load: ``bench/loadgen.py``, 32 keep-alive
connections, rounds alternating bare and service; figures are medians over rounds.

usage: python bench/read_path.py [--database postgresql|sqlite|both] [--seconds 5] [--rounds 3]
                                 [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess, free_port
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity
from clientpulse.shared.settings import DEV_IDENTITY_SECRET
from clientpulse.shared.testing.servers import create_database, drop_database

HERE = Path(__file__).parent
TARGET = 0.7
EXECUTIVE = Identity("u-exec", Role.EXECUTIVE, None, "u-exec")
MANAGER = Identity("u-42", Role.MANAGER, "s-1", "u-42")


def run_load(url: str, seconds: float, connections: int, headers: dict[str, str]) -> dict:
    command = [sys.executable, str(HERE / "loadgen.py"), url, str(seconds), str(connections)]
    command += [f"{k}:{v}" for k, v in headers.items()]
    return json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)


def seed(service_url: str) -> str:
    """One client of squad s-1 with DM u-42, created through the service's API; its id."""
    headers = {IDENTITY_HEADER: sign_identity(EXECUTIVE, DEV_IDENTITY_SECRET)}
    with httpx.Client(base_url=service_url, headers=headers) as api:
        company = api.post("/api/v1/companies", json={"name": "Bench Co"})
        company.raise_for_status()
        company_id = company.json()["id"]
        api.post(
            f"/api/v1/companies/{company_id}/convert", json={"dm_id": "u-42", "squad_id": "s-1"}
        ).raise_for_status()
    return company_id


def wait_answering(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def measure(kind: str, database_url: str, folder: Path, args: argparse.Namespace) -> tuple[float, float]:
    nats = NatsServerProcess(folder / "nats", port=free_port()).start()
    stack = Stack(
        var_dir=folder, nats_url=nats.url, database_urls={"clients": database_url}, ports={"clients": free_port()}
    )
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    bare_port = free_port()
    bare = None
    try:
        stack.restart_service("clients", timeout=90)
        client_id = seed(stack.service_url("clients"))
        bare = subprocess.Popen([sys.executable, str(HERE / "bare_read.py"), database_url, str(bare_port)])
        bare_url = f"http://127.0.0.1:{bare_port}/api/v1/clients/{client_id}"
        service_url = f"{stack.service_url('clients')}/api/v1/clients/{client_id}"
        wait_answering(bare_url)
        rates: dict[str, list[float]] = {"bare": [], "service": []}
        run_load(service_url, 1.0, args.connections, {IDENTITY_HEADER: sign_identity(MANAGER, DEV_IDENTITY_SECRET)})
        run_load(bare_url, 1.0, args.connections, {})
        for round_number in range(1, args.rounds + 1):
            signed = {IDENTITY_HEADER: sign_identity(MANAGER, DEV_IDENTITY_SECRET)}  # lives 60 s: one per round
            base = run_load(bare_url, args.seconds, args.connections, {})
            ours = run_load(service_url, args.seconds, args.connections, signed)
            if base["errors"] or ours["errors"]:
                raise RuntimeError(f"non-200 answers: bare {base['errors']}, service {ours['errors']}")
            rates["bare"].append(base["rps"])
            rates["service"].append(ours["rps"])
            print(
                f"{kind} round {round_number}: bare {base['rps']:,.0f} req/s (p50 {base['p50_ms']} ms), service "
                f"{ours['rps']:,.0f} req/s (p50 {ours['p50_ms']} ms), {ours['rps'] / base['rps']:.2f}×",
                flush=True,
            )
        return statistics.median(rates["bare"]), statistics.median(rates["service"])
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait()
        stack.stop()
        nats.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for kind in ["postgresql", "sqlite"] if args.database == "both" else [args.database]:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            url = create_database(args.url, prefix="bench_read") if kind == "postgresql" else ""
            database_url = url or f"sqlite+aiosqlite:///{folder / 'clients.db'}"
            try:
                base, ours = measure(kind, database_url, folder, args)
            finally:
                if url:
                    drop_database(url)
        print(f"baseline: bare Litestar read of the same row ({kind}, same driver)   median {base:,.0f} req/s")
        print(
            f"clients service, role-checked GET /clients/{{id}} ({kind})       median {ours:,.0f} req/s "
            f"({ours / base:.2f}×; target ≥ {TARGET}×: {'met' if ours / base >= TARGET else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
