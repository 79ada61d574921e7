"""The restart policy of ``make run``: delays double and cap, reset after a healthy run, give up on a crash loop."""

from __future__ import annotations

import pytest

from clientpulse.shared.restarts import RestartPolicy, ServiceRestarts, restart_delay


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("crashes_in_a_row", "delay"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (7, 30.0), (20, 30.0)],
)
def test_the_delay_doubles_up_to_thirty_seconds(crashes_in_a_row: int, delay: float) -> None:
    assert restart_delay(crashes_in_a_row, RestartPolicy()) == delay


# Each step: seconds the service runs before it crashes, then (restart?, delay, crash number).
CASES = {
    "a crash loop gives up at the fifth crash": [
        (0.5, True, 1.0, 1),
        (0.5, True, 2.0, 2),
        (0.5, True, 4.0, 3),
        (0.5, True, 8.0, 4),
        (0.5, False, 0.0, 5),
    ],
    "a run of 60 s counts as healthy and resets the delay": [
        (1.0, True, 1.0, 1),
        (1.0, True, 2.0, 2),
        (60.0, True, 1.0, 3),
        (1.0, True, 2.0, 4),
    ],
    "59.9 s is not yet healthy": [
        (1.0, True, 1.0, 1),
        (59.9, True, 2.0, 2),
    ],
    "crashes older than five minutes no longer count": [
        (100.0, True, 1.0, 1),
        (100.0, True, 1.0, 2),
        (100.0, True, 1.0, 3),
        (100.0, True, 1.0, 3),
        (100.0, True, 1.0, 3),
    ],
    "five crashes of services that ran 59 s each still fall within five minutes": [
        (59.0, True, 1.0, 1),
        (59.0, True, 2.0, 2),
        (59.0, True, 4.0, 3),
        (59.0, True, 8.0, 4),
        (59.0, False, 0.0, 5),
    ],
}


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_decisions_follow_the_crash_history(steps: list[tuple[float, bool, float, int]]) -> None:
    clock = Clock()
    restarts = ServiceRestarts(clock=clock)
    for ran_for, restart, delay, crash in steps:
        restarts.started()
        clock.now += ran_for
        decision = restarts.crashed()
        assert (decision.restart, decision.delay, decision.crash) == (restart, delay, crash)
        clock.now += decision.delay


def test_the_policy_is_configurable() -> None:
    clock = Clock()
    restarts = ServiceRestarts(RestartPolicy(first_delay=0.1, max_delay=0.3, max_crashes=3), clock=clock)
    decisions = []
    for _ in range(3):
        restarts.started()
        decisions.append(restarts.crashed())
    assert [(d.restart, d.delay, d.crash, d.max_crashes) for d in decisions] == [
        (True, 0.1, 1, 3),
        (True, 0.2, 2, 3),
        (False, 0.0, 3, 3),
    ]
