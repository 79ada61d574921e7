"""Fault scenarios against real processes: each records its figures, printed as one table at the end."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clientpulse.shared.embedded import NatsServerProcess

# The scenarios share helpers (invoice_ledger.py) beside them; tests import with importlib, off sys.path.
sys.path.insert(0, str(Path(__file__).parent))


@dataclass(frozen=True, slots=True)
class Figures:
    """What one scenario sent and what its consumer ended up with."""

    scenario: str
    sent: int
    applied: int
    lost: int
    twice: int
    server_errors: int | None = None


FIGURES: list[Figures] = []


def record(scenario: str, *, sent: int, applied: int, lost: int, twice: int, server_errors: int | None = None) -> None:
    """Add one scenario's row to the table."""
    FIGURES.append(Figures(scenario, sent, applied, lost, twice, server_errors))


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A NATS server of the scenario's own, which it may stop and start.

    Never the session's shared server: the session's end-to-end system is still running there, and its
    services (the same durable consumer names) would take a share of the scenario's events.
    """
    server = NatsServerProcess(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_figures() -> Callable[..., None]:
    """Records a scenario's figures for the table printed at the end of the session."""
    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures of every scenario that ran."""
    if not FIGURES:
        return
    header = ("scenario", "sent", "applied", "lost", "twice", "5xx")
    rows = [
        (
            f.scenario,
            str(f.sent),
            str(f.applied),
            str(f.lost),
            str(f.twice),
            "-" if f.server_errors is None else str(f.server_errors),
        )
        for f in FIGURES
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    terminalreporter.section("fault figures")
    for row in [header, *rows]:
        terminalreporter.write_line(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
