"""The schedules table, the embedded scheduler (on a test clock: no real minutes) and ``clientpulse schedules``."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clientpulse.shared.scheduler import Scheduler
from clientpulse.shared.schedules import Job, RunStore, ScheduleError, load_jobs, table_text
from clientpulse.shared.schedules_report import print_schedules

ROOT = Path(__file__).resolve().parents[3]
MONDAY_0459 = datetime(2026, 12, 7, 4, 59, tzinfo=UTC)  # 2026-12-07 is a Monday


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_the_shipped_table_holds_the_five_jobs_of_the_cronjobs() -> None:
    jobs = {job.name: job for job in load_jobs()}
    assert {name: (job.service, job.schedule, job.args) for name, job in jobs.items()} == {
        "tier-recalculation": ("tiering", "0 2 1 * *", ("recalculate", "--period", "previous")),
        "platform-sync": ("results-ingest", "0 3 * * *", ("sync",)),
        "qbr-overdue-check": ("clients", "0 6 * * *", ("check-qbrs",)),
        "notification-escalation": ("notifications", "30 6 * * *", ("escalate",)),
        "weekly-insights": ("insights", "0 5 * * 1", ("analyze-week",)),
    }
    assert {job.zone.key for job in jobs.values()} == {"Etc/UTC"}
    assert {job.concurrency_policy for job in jobs.values()} == {"Forbid"}
    assert jobs["tier-recalculation"].starting_deadline_seconds == 43200
    assert jobs["platform-sync"].starting_deadline_seconds == 3600


def test_the_chart_reads_the_very_same_file() -> None:
    chart_table = ROOT / "deploy" / "helm" / "clientpulse" / "files" / "schedules.yaml"
    assert chart_table.read_text(encoding="utf-8") == table_text()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{service: billing, schedule: '0 0 * * *', args: [x]}", "service 'billing'"),
        ("{service: clients, schedule: '0 0 * *', args: [x]}", "expected 5 fields"),
        ("{service: clients, schedule: '0 0 * * *', args: []}", "args must be"),
        ("{service: clients, schedule: '0 0 * * *', args: [x], timeZone: Mars/Olympus}", "Mars/Olympus"),
        ("{service: clients, schedule: '0 0 * * *', args: [x], concurrencyPolicy: Sometimes}", "Sometimes"),
        ("{service: clients, args: [x]}", "schedule is missing"),
    ],
)
def test_an_invalid_job_is_refused_with_its_name_and_field(entry: str, message: str) -> None:
    text = f"timeZone: Etc/UTC\nconcurrencyPolicy: Forbid\nstartingDeadlineSeconds: 60\njobs:\n  broken: {entry}\n"
    with pytest.raises(ScheduleError, match="job broken") as raised:
        load_jobs(text)
    assert message in str(raised.value)


# --------------------------------------------------------------------------------------------
# The scheduler
# --------------------------------------------------------------------------------------------

TABLE = """
timeZone: Etc/UTC
concurrencyPolicy: Forbid
startingDeadlineSeconds: 600
jobs:
  weekly:
    service: insights
    schedule: "0 5 * * 1"
    args: [analyze-week]
"""


def python_command(code: str) -> object:
    """Each run is ``python -c code`` with the job's args (a stand-in for the service's console script)."""

    def command(job: Job) -> list[str]:
        return [sys.executable, "-c", code, *job.args]

    return command


def scheduler(tmp_path: Path, clock: Clock, code: str, table: str = TABLE, lines: list[str] | None = None) -> Scheduler:
    environments: list[str] = []

    def environment(service: str) -> dict[str, str]:
        environments.append(service)
        return {"PATH": "/usr/bin:/bin", "MARKER": f"env-of-{service}"}

    return Scheduler(
        load_jobs(table),
        RunStore(tmp_path / "schedules.sqlite3"),
        tmp_path / "logs",
        environment,
        clock=clock,
        command=python_command(code),  # type: ignore[arg-type]
        report=(lines if lines is not None else []).append,
    )


PRINT_ENV = "import os, sys; print(os.environ['MARKER'], *sys.argv[1:])"


def test_a_job_runs_when_its_time_comes_with_its_services_environment(tmp_path: Path) -> None:
    clock = Clock(MONDAY_0459)
    runner = scheduler(tmp_path, clock, PRINT_ENV)
    runner.begin()
    assert runner.due["weekly"] == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    assert runner.tick() == []
    clock.advance(seconds=59)
    assert runner.tick() == []
    clock.advance(seconds=1)
    assert runner.tick() == ["weekly"]
    runner.wait_idle()
    assert runner.due["weekly"] == datetime(2026, 12, 14, 5, 0, tzinfo=UTC)
    assert runner.tick() == []  # the same minute again starts nothing
    last = runner.store.last_runs()["weekly"]
    assert (last.outcome, last.exit_code) == ("succeeded", 0)
    assert last.scheduled_for == last.started_at == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    assert last.ended_at is not None
    log = (tmp_path / "logs" / "schedules" / "weekly.log").read_text()
    assert "env-of-insights analyze-week" in log
    assert "exit 0" in log


def test_a_second_run_while_one_runs_is_refused_and_recorded(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    wait_for_gate = f"import pathlib, time\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)"
    clock = Clock(MONDAY_0459)
    lines: list[str] = []
    runner = scheduler(tmp_path, clock, wait_for_gate, lines=lines)
    runner.begin()
    assert runner.run_now("weekly") is True
    clock.advance(minutes=1)
    assert runner.tick() == [], "Forbid: the scheduled time comes while the first run still runs"
    assert runner.run_now("weekly") is False
    assert runner.store.last_runs()["weekly"].outcome == "skipped"
    assert any("weekly skipped" in line for line in lines)
    gate.touch()
    runner.wait_idle()
    with runner.store._connect() as db:
        outcomes = [row[0] for row in db.execute("SELECT outcome FROM schedule_runs ORDER BY id")]
    assert outcomes == ["succeeded", "skipped", "skipped"]
    clock.advance(minutes=1)
    assert runner.run_now("weekly") is True, "once the first run ended, the next may start"
    runner.wait_idle()


def test_a_failing_run_is_recorded_and_reported(tmp_path: Path) -> None:
    clock = Clock(MONDAY_0459 + timedelta(minutes=1))
    lines: list[str] = []
    runner = scheduler(tmp_path, clock, "import sys; print('no NATS'); sys.exit(3)", lines=lines)
    runner.begin()
    runner.run_now("weekly")
    runner.wait_idle()
    last = runner.store.last_runs()["weekly"]
    assert (last.outcome, last.exit_code) == ("failed", 3)
    assert any("weekly failed with exit code 3" in line for line in lines)


def test_a_time_missed_while_stopped_runs_late_only_within_its_deadline(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "schedules.sqlite3")
    store.note("weekly", datetime(2026, 11, 30, 5, 0, tzinfo=UTC), "missed")  # the week before
    # Up again 5 minutes after Monday 05:00 (deadline 10 minutes): the 05:00 run starts at once.
    clock = Clock(datetime(2026, 12, 7, 5, 5, tzinfo=UTC))
    runner = scheduler(tmp_path, clock, "pass")
    runner.begin()
    assert runner.tick() == ["weekly"]
    runner.wait_idle()
    assert runner.store.last_runs()["weekly"].scheduled_for == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    # Up again 20 minutes late: nothing now, the next Monday's run is next.
    later = scheduler(tmp_path, Clock(datetime(2026, 12, 14, 5, 20, tzinfo=UTC)), "pass")
    later.begin()
    assert later.tick() == []
    assert later.due["weekly"] == datetime(2026, 12, 21, 5, 0, tzinfo=UTC)


def test_a_time_passed_beyond_its_deadline_while_running_is_recorded_missed(tmp_path: Path) -> None:
    clock = Clock(MONDAY_0459)
    runner = scheduler(tmp_path, clock, "pass")
    runner.begin()
    clock.advance(hours=1)  # the machine slept through 05:00
    assert runner.tick() == []
    assert runner.store.last_runs()["weekly"].outcome == "missed"


def test_stopping_ends_a_running_job_and_releases_the_store(tmp_path: Path) -> None:
    clock = Clock(MONDAY_0459)
    runner = scheduler(tmp_path, clock, "import time; time.sleep(60)")
    runner.begin()
    assert runner.store.scheduler_pid() is not None
    runner.run_now("weekly")
    runner.stop()
    last = runner.store.last_runs()["weekly"]
    assert last.outcome == "failed" and last.exit_code == -15
    assert runner.store.scheduler_pid() is None


# --------------------------------------------------------------------------------------------
# clientpulse schedules
# --------------------------------------------------------------------------------------------


def report(var: Path, now: datetime, *, as_json: bool = False) -> str:
    out = io.StringIO()
    assert print_schedules(var, as_json=as_json, now=now, out=out) == 0
    return out.getvalue()


def test_schedules_before_anything_ran(tmp_path: Path) -> None:
    text = report(tmp_path, datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    lines = text.splitlines()
    assert lines[0].startswith("make run is not running")
    assert lines[1].split() == ["JOB", "SCHEDULE", "ZONE", "COMMAND", "LAST", "RUN", "NEXT", "RUN"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {job.name for job in load_jobs()}
    assert "0 2 1 * *" in rows["tier-recalculation"]
    assert "clientpulse-tiering recalculate --period previous" in rows["tier-recalculation"]
    assert rows["tier-recalculation"].endswith("never     2027-01-01 02:00 UTC")
    assert rows["weekly-insights"].endswith("2026-12-07 05:00 UTC")
    assert rows["qbr-overdue-check"].endswith("2026-12-07 06:00 UTC")


def test_schedules_shows_the_last_runs_while_make_run_schedules(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "schedules.sqlite3")
    store.claim(__import__("os").getpid(), datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    started = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    run_id = store.start("tier-recalculation", started, started)
    store.finish(run_id, started + timedelta(seconds=2.5), 0)
    sync = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    store.finish(store.start("platform-sync", sync, sync), sync + timedelta(seconds=40), 1)
    store.start("qbr-overdue-check", datetime(2026, 12, 6, 6, 0, tzinfo=UTC), datetime(2026, 12, 6, 6, 0, tzinfo=UTC))
    store.note("weekly-insights", datetime(2026, 11, 30, 5, 0, tzinfo=UTC), "missed")
    now = datetime(2026, 12, 6, 6, 0, 30, tzinfo=UTC)
    lines = report(tmp_path, now).splitlines()
    assert lines[0].startswith("make run is scheduling these jobs (pid ")
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "2026-12-01 02:00 UTC succeeded (exit 0, 2.5 s)" in rows["tier-recalculation"]
    assert "2026-12-06 03:00 UTC failed (exit 1, 40.0 s)" in rows["platform-sync"]
    assert "2026-12-06 06:00 UTC running" in rows["qbr-overdue-check"]
    assert "2026-11-30 05:00 UTC missed" in rows["weekly-insights"]
    assert "never" in rows["notification-escalation"]
    as_json = [json.loads(line) for line in report(tmp_path, now, as_json=True).splitlines()]
    platform_sync = next(row for row in as_json if row["job"] == "platform-sync")
    assert platform_sync["last_outcome"] == "failed" and platform_sync["last_exit_code"] == 1
    assert platform_sync["next_run"] == "2026-12-07 03:00 UTC"
    assert platform_sync["concurrency_policy"] == "Forbid"


def test_the_command_reads_the_var_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clientpulse.shared.cli import main

    monkeypatch.setenv("CLIENTPULSE_VAR_DIR", str(tmp_path))
    moment = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    store = RunStore(tmp_path / "schedules.sqlite3")
    store.finish(store.start("platform-sync", moment, moment), moment + timedelta(seconds=1), 0)
    assert main(["schedules", "--json"]) == 0
    rows = {row["job"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["platform-sync"]["last_run"] == "2026-12-06 03:00 UTC succeeded (exit 0, 1.0 s)"
    assert rows["weekly-insights"]["last_run"] == "never"
