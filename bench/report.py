"""``make bench``: run every benchmark in ``bench/`` and write their figures, each beside the baseline
measured in the same run, into ``BENCHMARKS.md`` with the machine's description and how to reproduce each.

Every benchmark prints its rounds and a closing summary (figure, baseline, ratio, target); the report keeps
that output verbatim. The arguments below keep the whole run under 20 minutes on 2 cores.

usage: python bench/report.py [--only NAME ...] [--output BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clientpulse.shared.embedded import nats_server_binary

HERE = Path(__file__).parent
ROOT = HERE.parent


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One benchmark: its script, the arguments ``make bench`` gives it, and what it measures."""

    name: str
    arguments: tuple[str, ...]
    measures: str
    quick: tuple[str, ...] | None = None  # ``--quick``: a shorter run of the same measurement


BENCHMARKS = (
    Benchmark(
        "relay",
        ("--events", "20000", "--rounds", "5"),
        "the outbox relay against pipelined JetStream publishing",
        ("--events", "10000", "--rounds", "3"),
    ),
    Benchmark(
        "ingest",
        ("--events", "10000", "--rounds", "5"),
        "InvoicePosted into the tiering ledger against a bare FastStream pull subscriber (PostgreSQL, SQLite)",
        ("--events", "5000", "--rounds", "3"),
    ),
    Benchmark(
        "event_latency",
        ("--rate", "200", "--seconds", "10", "--rounds", "3"),
        "a commit to a batched consumer's commit in another service at 200 events/s, against bare JetStream",
        ("--rate", "200", "--seconds", "5", "--rounds", "3"),
    ),
    Benchmark(
        "score_now_latency",
        ("--rate", "200", "--seconds", "5", "--rounds", "3", "--clients", "100"),
        "Score Now through the gateway to the DM's live stream at 200 per second, against the client read",
        ("--rate", "200", "--seconds", "3", "--rounds", "2", "--clients", "50"),
    ),
    Benchmark(
        "read_path",
        ("--seconds", "5", "--rounds", "3"),
        "the role-checked client read against a bare Litestar read of the same row (PostgreSQL, SQLite)",
        ("--seconds", "3", "--rounds", "3"),
    ),
    Benchmark("recalculation", ("--rounds", "3", "--relay"), "the monthly recalculation of 100,000 clients"),
    Benchmark("gateway_hop", ("--seconds", "5", "--rounds", "3"), "the gateway's hop against the direct read"),
    Benchmark("gateway_rate_limit", ("--rounds", "3"), "the gateway's rate limit against no limit"),
    Benchmark("clients_list", ("--rounds", "5"), "the client list at 10,000 clients against plain SQL"),
    Benchmark("backfill", ("--rounds", "3"), "a 90-day backfill and the campaign table at 5 million rows"),
    Benchmark(
        "notifications_stream",
        (
            "--rounds",
            "20",
        ),
        "the live stream's commit wake-up against polling",
    ),
)


def _first_line(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (completed.stdout or completed.stderr).strip().splitlines()[0] if completed.returncode == 0 else "unknown"


def machine() -> list[str]:
    """What the figures were measured on (a shared machine's load is part of the description)."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = next(
            (line.split()[1] for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")), None
        )
        memory = f"{int(total) / 1024 / 1024:.1f} GiB" if total else memory
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    nats = nats_server_binary()  # the one the benchmarks start
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {memory}",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- PostgreSQL: {_first_line(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-Atc', 'SELECT version()'])}",
        f"- nats-server: {_first_line([nats, '--version'])}",
        f"- load average when the run started: {load} (a shared machine: the ratios, measured in one run, are "
        "what compares)",
    ]


def arguments(benchmark: Benchmark, quick: bool) -> tuple[str, ...]:
    return benchmark.quick if quick and benchmark.quick is not None else benchmark.arguments


def run(benchmark: Benchmark, quick: bool) -> tuple[str, float, int]:
    command = [sys.executable, str(HERE / f"{benchmark.name}.py"), *arguments(benchmark, quick)]
    began = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    output = completed.stdout.strip()
    if completed.returncode != 0:
        output += "\n" + "\n".join(completed.stderr.strip().splitlines()[-15:])
    return output, time.perf_counter() - began, completed.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (names without .py)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--quick", action="store_true", help="shorter runs where a benchmark has them")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python bench/report.py{' --quick' if args.quick else ''}"
        f"{' --only ' + ' '.join(args.only) if args.only else ''}`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Every "
        "figure is printed beside a baseline measured in the same run; ratios and medians over rounds are "
        "what to compare. Targets are in `docs/quality.md`.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
    ]
    failed = 0
    total = 0.0
    for benchmark in chosen:
        print(f"== {benchmark.name}: {benchmark.measures}", flush=True)
        output, seconds, code = run(benchmark, args.quick)
        total += seconds
        failed += code != 0
        print(output, flush=True)
        reproduce = " ".join(
            [
                "CLIENTPULSE_DEV_MODE=true .venv/bin/python",
                f"bench/{benchmark.name}.py",
                *arguments(benchmark, args.quick),
            ]
        )
        lines += [
            f"## {benchmark.name}: {benchmark.measures}",
            "",
            f"Reproduce: `{reproduce}` ({seconds:.0f} s here{'; it FAILED' if code else ''}).",
            "",
            "```",
            output,
            "```",
            "",
        ]
    lines.append(f"The whole run took {total / 60:.1f} minutes.")
    notes = HERE / "profiles.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    Path(args.output).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output} ({total / 60:.1f} minutes)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
