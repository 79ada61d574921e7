"""The embedded scheduler runs the table's real service commands, with the environment ``make run`` gives them.

The daily QBR check of the table (``clientpulse-clients check-qbrs``) on the clients service's real
PostgreSQL database, started by the scheduler when a test clock reaches 06:00.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clientpulse.shared.devstack import Stack
from clientpulse.shared.scheduler import Scheduler, service_command
from clientpulse.shared.schedules import RunStore, load_jobs

pytestmark = pytest.mark.integration


def test_the_daily_qbr_check_runs_at_its_time_on_the_services_database(postgres_url: str, tmp_path: Path) -> None:
    stack = Stack(var_dir=tmp_path, nats_url="nats://127.0.0.1:1", database_urls={"clients": postgres_url})
    stack.env = {"CLIENTPULSE_DEV_MODE": "true", "CLIENTPULSE_LOG_JSON": "false"}
    (job,) = [job for job in load_jobs() if job.name == "qbr-overdue-check"]
    migrate = replace(job, args=("migrate",))
    subprocess.run(service_command(migrate), env=stack.environment("clients"), check=True, capture_output=True)

    now = [datetime(2026, 12, 7, 5, 59, 30, tzinfo=UTC)]
    lines: list[str] = []
    scheduler = Scheduler(
        [job],
        RunStore(tmp_path / "schedules.sqlite3"),
        stack.log_dir,
        stack.environment,
        clock=lambda: now[0],
        report=lines.append,
    )
    scheduler.begin()
    assert scheduler.tick() == []
    now[0] += timedelta(seconds=30)
    assert scheduler.tick() == ["qbr-overdue-check"]
    scheduler.wait_idle(60)
    last = scheduler.store.last_runs()["qbr-overdue-check"]
    log = (stack.log_dir / "schedules" / "qbr-overdue-check.log").read_text()
    assert (last.outcome, last.exit_code) == ("succeeded", 0), log
    assert "check-qbrs: 0 newly overdue QBR(s) announced" in log
    assert lines == []
    scheduler.stop()
