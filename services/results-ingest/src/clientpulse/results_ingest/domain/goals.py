"""Goals beside the metrics they follow: a replica of the clients service's goals, judged on this
service's own numbers with the shared goal rule (``clientpulse.shared.goals``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.repositories.linked_goals import LinkedGoalRepository
from clientpulse.results_ingest.domain import metric_report
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.shared import goals
from clientpulse.shared.contracts import Envelope, wrap
from clientpulse.shared.contracts.events import GoalChanged, GoalMeasurement, GoalsMeasured
from clientpulse.shared.db import utcnow
from clientpulse.shared.messaging import record_event
from clientpulse.shared.money import RateTable

SOURCE = "results-ingest"


async def replicate_goal(envelope: Envelope[Any], session: AsyncSession) -> None:
    """Keep the goal as the newest GoalChanged describes it (a late redelivery changes nothing)."""
    event: GoalChanged = envelope.data
    facts = {
        "client_id": event.client_id,
        "metric": event.metric,
        "name": event.name,
        "kind": event.kind,
        "direction": event.direction,
        "target": event.target,
        "period_start": event.period_start,
        "period_end": event.period_end,
        "closed": event.closed,
        "changed_at": envelope.time,
    }
    repository = LinkedGoalRepository(session)
    if await repository.insert_if_new(event.goal_id, facts):
        return
    goal = await repository.get(event.goal_id)
    if goal is None or goal.changed_at > envelope.time:
        return
    for key, value in facts.items():
        setattr(goal, key, value)


async def replicate_and_measure_goal(envelope: Envelope[Any], session: AsyncSession, rates: RateTable) -> None:
    """Keep the goal, then measure it on the results already stored (a new or changed goal need not wait
    for the next sync to show its current value)."""
    await replicate_goal(envelope, session)
    await session.flush()
    event: GoalChanged = envelope.data
    if event.metric is not None and not event.closed:
        await announce_goal_progress(session, event.client_id, utcnow().date(), rates, goal_id=event.goal_id)


@dataclass(frozen=True, slots=True)
class GoalView:
    """A goal with its current value and status, for the metric it follows."""

    goal_id: str
    name: str
    metric: str
    target: Decimal
    current: Decimal
    status: goals.GoalStatus
    period_start: date
    period_end: date
    measured: bool = True  # False: the client has no value of the metric over the period (current 0)
    kind: goals.GoalKind = goals.GoalKind.CUMULATIVE


async def goals_by_metric(
    session: AsyncSession, client_id: str, today: date, rates: RateTable
) -> dict[str, list[GoalView]]:
    """Each open linked goal, judged on the metric's value over the goal's period so far."""
    views: dict[str, list[GoalView]] = {}
    values_by_range: dict[DateRange, dict[str, Decimal]] = {}
    for goal in await LinkedGoalRepository(session).open_for(client_id):
        assert goal.metric is not None
        window = DateRange(goal.period_start, min(goal.period_end, max(today, goal.period_start)))
        if window not in values_by_range:
            lines, _ = await metric_report.account_metrics(session, client_id, window, window, rates)
            # Goals carry no currency: a money metric kept in several currencies is judged on the last listed.
            values_by_range[window] = {line.metric: line.current for line in lines if line.current is not None}
        measured = values_by_range[window].get(goal.metric)
        current = measured if measured is not None else Decimal(0)
        status = goals.goal_status(
            kind=goals.GoalKind(goal.kind),
            direction=goals.GoalDirection(goal.direction),
            current=current,
            target=goal.target,
            period_start=goal.period_start,
            period_end=goal.period_end,
            today=today,
        )
        views.setdefault(goal.metric, []).append(
            GoalView(
                goal.goal_id,
                goal.name,
                goal.metric,
                goal.target,
                current,
                status,
                goal.period_start,
                goal.period_end,
                measured is not None,
                goals.GoalKind(goal.kind),
            )
        )
    return views


def measurements(views: dict[str, list[GoalView]]) -> list[GoalMeasurement]:
    """What GoalsMeasured tells the clients service: every goal's value over its period so far. A level goal
    (a ratio such as ROAS or CPA) whose metric has no value yet is left out rather than reported as 0."""
    return [
        GoalMeasurement(
            goal_id=view.goal_id,
            metric=view.metric,
            current=view.current,
            period_start=view.period_start,
            period_end=view.period_end,
            status=view.status.value,
        )
        for views_of_metric in views.values()
        for view in views_of_metric
        if view.measured or view.kind is goals.GoalKind.CUMULATIVE
    ]


async def announce_goal_progress(
    session: AsyncSession, client_id: str, today: date, rates: RateTable, *, goal_id: str | None = None
) -> bool:
    """Measure the client's open linked goals (or one of them) on the stored results and publish GoalsMeasured
    in the caller's unit of work, after new results were stored or a goal changed. Nothing to measure: no event."""
    views = await goals_by_metric(session, client_id, today, rates)
    measured = [m for m in measurements(views) if goal_id is None or m.goal_id == goal_id]
    if not measured:
        return False
    event = GoalsMeasured(client_id=client_id, measured_on=today, goals=measured)
    await record_event(session, wrap(event, source=SOURCE))
    return True
