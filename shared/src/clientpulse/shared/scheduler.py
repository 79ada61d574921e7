"""``make run``'s embedded scheduler: the table's jobs on their schedules, as the chart's CronJobs run them.

Each run is the service's own console script with the arguments of the table, in a subprocess with
the environment the stack gives that service, its output appended to ``<logs>/schedules/<job>.log``
and its start, end and exit code recorded in the run store. Like the CronJobs:

- ``Forbid`` (every job of the table): a time that comes while the job's previous run still runs is
  skipped (recorded as ``skipped``); ``Replace`` stops the running one first; ``Allow`` runs both.
- A time passed by more than ``startingDeadlineSeconds`` (``make run`` was stopped, the machine
  slept) is not run late; one within it is run as soon as the scheduler is up again.
- A job's first time is the first after the scheduler first saw it: nothing older is caught up.

The clock and the commands can be given, so tests move time instead of waiting for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clientpulse.shared.schedules import Job, RunStore

# The longest the loop sleeps: a clock that jumps (a suspended laptop) is noticed within this.
MAX_SLEEP_SECONDS = 30.0


def service_command(job: Job) -> list[str]:
    """``clientpulse-<service> <args…>``, from the running interpreter's environment when it has it."""
    script = Path(sys.executable).parent / f"clientpulse-{job.service}"
    return [str(script) if script.exists() else script.name, *job.args]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Runs ``jobs`` on their schedules until stopped; ``tick`` and ``run_now`` are one step each."""

    def __init__(
        self,
        jobs: list[Job],
        store: RunStore,
        log_dir: Path,
        environment: Callable[[str], dict[str, str]],
        *,
        clock: Callable[[], datetime] = _utc_now,
        command: Callable[[Job], list[str]] = service_command,
        report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.store = store
        self.log_dir = log_dir
        self.environment = environment
        self.clock = clock
        self.command = command
        self.report = report
        self.due: dict[str, datetime] = {}
        self.running: dict[str, list[subprocess.Popen[bytes]]] = {name: [] for name in self.jobs}
        self._waiters: list[threading.Thread] = []
        self._lock = threading.Lock()

    def begin(self) -> None:
        """Claim the store and work out each job's next time (one missed within its deadline is due now)."""
        now = self.clock()
        last = self.store.last_runs()
        self.store.claim(os.getpid(), now)
        for name, job in self.jobs.items():
            base = now
            if name in last:
                base = max(last[name].scheduled_for, now - timedelta(seconds=job.starting_deadline_seconds))
            self.due[name] = job.next_after(base)

    def tick(self) -> list[str]:
        """Start every job whose time has come; the names of those started."""
        now = self.clock()
        started = []
        for name, job in self.jobs.items():
            due = self.due[name]
            if due > now:
                continue
            self.due[name] = job.next_after(now)
            if (now - due).total_seconds() > job.starting_deadline_seconds:
                self.store.note(name, due, "missed")
                self.report(f"schedules: {name} missed its {due:%Y-%m-%d %H:%M} UTC run (past its starting deadline)")
            elif self._start(job, due):
                started.append(name)
        return started

    def run_now(self, name: str) -> bool:
        """Start a job now, outside its schedule, under its concurrency policy; whether it started."""
        return self._start(self.jobs[name], self.clock())

    def seconds_to_next(self) -> float:
        """How long until the earliest time of any job (at most ``MAX_SLEEP_SECONDS``)."""
        if not self.due:
            return MAX_SLEEP_SECONDS
        wait = (min(self.due.values()) - self.clock()).total_seconds()
        return max(0.0, min(wait, MAX_SLEEP_SECONDS))

    def run(self, stopped: threading.Event) -> None:
        """The loop: tick, then sleep until the next time (or ``stopped``); stop the runs at the end."""
        self.begin()
        try:
            while not stopped.is_set():
                self.tick()
                stopped.wait(self.seconds_to_next())
        finally:
            self.stop()

    def _start(self, job: Job, scheduled_for: datetime) -> bool:
        with self._lock:
            live = [p for p in self.running[job.name] if p.poll() is None]
            if live and job.concurrency_policy == "Forbid":
                self.store.note(job.name, scheduled_for, "skipped")
                self.report(f"schedules: {job.name} skipped, its previous run (pid {live[0].pid}) still runs")
                return False
            if live and job.concurrency_policy == "Replace":
                for process in live:
                    _terminate(process)
            started_at = self.clock()
            run_id = self.store.start(job.name, scheduled_for, started_at)
            process = self._spawn(job, started_at)
            self.running[job.name] = [*live, process] if job.concurrency_policy == "Allow" else [process]
        waiter = threading.Thread(target=self._wait, args=(job, run_id, process), name=f"schedule-{job.name}")
        waiter.start()
        self._waiters = [*(w for w in self._waiters if w.is_alive()), waiter]
        return True

    def _log_path(self, job: Job) -> Path:
        return self.log_dir / "schedules" / f"{job.name}.log"

    def _spawn(self, job: Job, started_at: datetime) -> subprocess.Popen[bytes]:
        path = self._log_path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        command = self.command(job)
        with open(path, "ab") as log:
            log.write(f"== {started_at.isoformat()} {' '.join(command)}\n".encode())
            log.flush()
            return subprocess.Popen(  # noqa: S603 - the table's own console scripts
                command,
                env=self.environment(job.service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait(self, job: Job, run_id: int, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        ended = self.clock()
        self.store.finish(run_id, ended, code)
        with open(self._log_path(job), "ab") as log:
            log.write(f"== {ended.isoformat()} exit {code}\n".encode())
        if code != 0:
            self.report(f"schedules: {job.name} failed with exit code {code}; see {self._log_path(job)}")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every started run has ended and been recorded."""
        for waiter in list(self._waiters):
            waiter.join(timeout)

    def stop(self) -> None:
        """Stop the runs still going (SIGTERM, then SIGKILL) and release the store."""
        with self._lock:
            for processes in self.running.values():
                for process in processes:
                    _terminate(process)
        self.wait_idle()
        self.store.release(os.getpid())


def _terminate(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
