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
from clientpulse.shared.contracts import Envelope
from clientpulse.shared.contracts.events import GoalChanged
from clientpulse.shared.money import RateTable


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
        current = values_by_range[window].get(goal.metric, Decimal(0))
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
                goal.goal_id, goal.name, goal.metric, goal.target, current, status, goal.period_start, goal.period_end
            )
        )
    return views
