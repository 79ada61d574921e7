"""``clientpulse schedules``: each job of the table, its schedule, its last run and its next run.

Reads the run store ``make run``'s scheduler writes; works while it runs and when it does not (the
next runs are then those it would start).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from clientpulse.shared.schedules import Job, Run, RunStore, load_jobs


def _when(moment: datetime | None, job: Job) -> str:
    return "-" if moment is None else moment.astimezone(job.zone).strftime("%Y-%m-%d %H:%M %Z")


def describe_last(run: Run | None, job: Job) -> str:
    """The last run in a few words: when, and how it went."""
    if run is None:
        return "never"
    if run.outcome in ("skipped", "missed"):
        return f"{_when(run.scheduled_for, job)} {run.outcome}"
    text = f"{_when(run.started_at, job)} {run.outcome}"
    if run.exit_code is not None and run.ended_at is not None and run.started_at is not None:
        seconds = (run.ended_at - run.started_at).total_seconds()
        text += f" (exit {run.exit_code}, {seconds:.1f} s)"
    return text


def job_rows(store: RunStore, jobs: list[Job], now: datetime) -> list[dict[str, str | int | None]]:
    """One row per job: what it runs, when, the last run and the next."""
    last = store.last_runs() if store.path.exists() else {}
    rows: list[dict[str, str | int | None]] = []
    for job in jobs:
        run = last.get(job.name)
        rows.append(
            {
                "job": job.name,
                "schedule": job.schedule,
                "time_zone": job.zone.key,
                "concurrency_policy": job.concurrency_policy,
                "command": job.command_line,
                "last_run": describe_last(run, job),
                "last_outcome": None if run is None else run.outcome,
                "last_exit_code": None if run is None else run.exit_code,
                "next_run": _when(job.next_after(now), job),
            }
        )
    return rows


def print_schedules(
    var_dir: Path, *, as_json: bool = False, now: datetime | None = None, out: TextIO | None = None
) -> int:
    """Print the table with last and next runs (to ``out``, else standard output); 0."""
    out = out or sys.stdout
    store = RunStore(var_dir / "schedules.sqlite3")
    rows = job_rows(store, load_jobs(), now or datetime.now(UTC))
    if as_json:
        for row in rows:
            print(json.dumps(row), file=out)
        return 0
    pid = store.scheduler_pid()
    if pid is not None:
        print(f"make run is scheduling these jobs (pid {pid}); logs in {var_dir / 'logs' / 'schedules'}", file=out)
    else:
        print("make run is not running: these are the next runs it would start (the CronJobs in production)", file=out)
    columns = ["job", "schedule", "time_zone", "command", "last_run", "next_run"]
    headers = ["JOB", "SCHEDULE", "ZONE", "COMMAND", "LAST RUN", "NEXT RUN"]
    widths = [max(len(h), *(len(str(row[c])) for row in rows)) for c, h in zip(columns, headers, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), file=out)
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    return 0
