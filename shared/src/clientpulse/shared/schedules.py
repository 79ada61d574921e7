"""The table of scheduled work, and the record of its runs under ``make run``.

The table is ``schedules.yaml`` beside this module, shipped in the package (so an installed
``clientpulse`` finds it as a clean clone does); the Helm chart reads the same file through its
``files/schedules.yaml`` link, one CronJob per job. ``make run``'s embedded scheduler
(``clientpulse.shared.scheduler``) runs each job on its schedule and records every run in
``<var>/schedules.sqlite3``, which ``clientpulse schedules`` reads.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from clientpulse.shared.cron import Cron, CronError, parse

POLICIES = ("Forbid", "Allow", "Replace")
SERVICES = ("clients", "tiering", "results-ingest", "insights", "notifications")


class ScheduleError(ValueError):
    """The table is not valid; the message names the job and the field."""


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job: ``clientpulse-<service> <args…>`` on ``cron`` in ``zone``."""

    name: str
    service: str
    cron: Cron
    args: tuple[str, ...]
    zone: ZoneInfo
    concurrency_policy: str
    starting_deadline_seconds: int

    @property
    def schedule(self) -> str:
        """The cron expression as written in the table."""
        return self.cron.expression

    @property
    def command_line(self) -> str:
        """The command as an operator would type it."""
        return " ".join([f"clientpulse-{self.service}", *self.args])

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after ``moment`` (UTC)."""
        return self.cron.next_after(moment, self.zone)


def table_text() -> str:
    """The table's YAML, from the installed package."""
    return resources.files("clientpulse.shared").joinpath("schedules.yaml").read_text(encoding="utf-8")


def load_jobs(text: str | None = None) -> list[Job]:
    """Every job of the table (``text``, or the shipped one), in the table's order."""
    table = yaml.safe_load(table_text() if text is None else text)
    if not isinstance(table, dict) or not isinstance(table.get("jobs"), dict):
        raise ScheduleError("the table needs a 'jobs' mapping")
    return [_job(name, entry or {}, table) for name, entry in table["jobs"].items()]


def _job(name: str, entry: Mapping[str, Any], table: Mapping[str, Any]) -> Job:
    def field(key: str) -> Any:
        value = entry.get(key, table.get(key))
        if value is None:
            raise ScheduleError(f"job {name}: {key} is missing")
        return value

    service = field("service")
    if service not in SERVICES:
        raise ScheduleError(f"job {name}: service {service!r} is not one of {', '.join(SERVICES)}")
    args = field("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise ScheduleError(f"job {name}: args must be a non-empty list of strings")
    policy = field("concurrencyPolicy")
    if policy not in POLICIES:
        raise ScheduleError(f"job {name}: concurrencyPolicy {policy!r} is not one of {', '.join(POLICIES)}")
    try:
        cron, zone = parse(str(field("schedule"))), ZoneInfo(str(field("timeZone")))
    except (CronError, ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"job {name}: {exc}") from exc
    return Job(
        name=name,
        service=service,
        cron=cron,
        args=tuple(args),
        zone=zone,
        concurrency_policy=policy,
        starting_deadline_seconds=int(field("startingDeadlineSeconds")),
    )


# --------------------------------------------------------------------------------------------
# The record of runs
# --------------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedule_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    exit_code INTEGER,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedule_runs_job ON schedule_runs (job, id);
CREATE TABLE IF NOT EXISTS scheduler (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, started_at TEXT);
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One recorded run: ``outcome`` is running, succeeded, failed, skipped, missed or interrupted."""

    id: int
    job: str
    scheduled_for: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    outcome: str


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class RunStore:
    """Runs in a small SQLite file; safe to read from another process while the scheduler writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)
            yield connection

    def start(self, job: str, scheduled_for: datetime, started_at: datetime) -> int:
        """Record a run that starts now; its id."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO schedule_runs (job, scheduled_for, started_at, outcome) VALUES (?, ?, ?, 'running')",
                (job, _iso(scheduled_for), _iso(started_at)),
            )
            return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, ended_at: datetime, exit_code: int) -> None:
        """Record how a run ended."""
        outcome = "succeeded" if exit_code == 0 else "failed"
        with self._connect() as db:
            db.execute(
                "UPDATE schedule_runs SET ended_at = ?, exit_code = ?, outcome = ? WHERE id = ?",
                (_iso(ended_at), exit_code, outcome, run_id),
            )

    def note(self, job: str, scheduled_for: datetime, outcome: str) -> None:
        """Record a time that did not start a run (``skipped``: one still ran; ``missed``: too late)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO schedule_runs (job, scheduled_for, outcome) VALUES (?, ?, ?)",
                (job, _iso(scheduled_for), outcome),
            )

    def last_runs(self) -> dict[str, Run]:
        """The newest record of each job."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, job, scheduled_for, started_at, ended_at, exit_code, outcome FROM schedule_runs "
                "WHERE id IN (SELECT MAX(id) FROM schedule_runs GROUP BY job)"
            ).fetchall()
        return {
            row[1]: Run(
                row[0], row[1], _moment(row[2]) or datetime.min, _moment(row[3]), _moment(row[4]), row[5], row[6]
            )
            for row in rows
        }

    def claim(self, pid: int, now: datetime) -> None:
        """This process schedules now: runs an earlier scheduler left running were interrupted."""
        with self._connect() as db:
            db.execute("UPDATE schedule_runs SET outcome = 'interrupted' WHERE outcome = 'running'")
            db.execute("INSERT OR REPLACE INTO scheduler (id, pid, started_at) VALUES (1, ?, ?)", (pid, _iso(now)))

    def release(self, pid: int) -> None:
        """This process schedules no more."""
        with self._connect() as db:
            db.execute("DELETE FROM scheduler WHERE pid = ?", (pid,))

    def scheduler_pid(self) -> int | None:
        """The pid of the live process that schedules (``make run``), if one does."""
        if not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute("SELECT pid FROM scheduler WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            os.kill(int(row[0]), 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return int(row[0])
