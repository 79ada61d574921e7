"""``/api/v1/tiering/recalculations``: the monthly recalculation runs, and asking for one (Executives only)."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import Body, FromQuery, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import RecalculationRequested
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, ProblemError, Unprocessable
from clientpulse.shared.guards import ExecutiveController
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Bus, Caller, Db
from clientpulse.tiering.api.schemas.recalculations import RecalculationCreate, RecalculationRead
from clientpulse.tiering.db.models import RecalculationRun
from clientpulse.tiering.db.repositories.recalculation_runs import RecalculationRepository
from clientpulse.tiering.domain.outbox import SOURCE
from clientpulse.tiering.domain.recalculation import recalculation_event_id, resolve_period


class BusUnavailable(ProblemError):
    """NATS did not take a command; nothing happened and the caller may retry."""

    status = 503
    slug = "bus-unavailable"
    title = "Event bus unavailable"


def run_read(run: RecalculationRun) -> RecalculationRead:
    """The API view of a finished run."""
    return RecalculationRead(
        period=run.period,
        status="completed",
        event_id=run.event_id,
        run_id=run.id,
        requested_by=run.requested_by,
        completed_at=run.completed_at,
        recalculated=run.recalculated,
        changed=run.changed,
        skipped_never_scored=run.skipped_never_scored,
        failed=run.failed,
    )


class RecalculationController(ExecutiveController):
    """``/api/v1/tiering/recalculations`` (Executive only)"""

    path = "/api/v1/tiering/recalculations"
    tags = ["tiering"]

    @get("/", summary="Recalculation runs, newest period first")
    async def list_runs(
        self,
        db: Db,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[RecalculationRead]:
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        async with db.transaction() as session:
            runs = await RecalculationRepository(session).newest(
                limit=size + 1, before_period=str(position["period"]) if position and "period" in position else None
            )
        page, more = runs[:size], len(runs) > size
        return Page[RecalculationRead](
            items=[run_read(r) for r in page],
            next_cursor=encode_cursor({"period": page[-1].period}) if more else None,
        )

    @post("/", summary="Recalculate a period now (what the monthly CronJob does)", status_code=HTTP_202_ACCEPTED)
    async def request_run(
        self, identity: Caller, db: Db, bus: Bus, data: Annotated[RecalculationCreate, Body()]
    ) -> RecalculationRead:
        try:
            resolve_period(data.period, utcnow())
        except ValueError as exc:
            raise Unprocessable(str(exc)) from exc
        async with db.transaction() as session:
            done = await RecalculationRepository(session).by_period(data.period)
        if done is not None:
            raise Conflict(
                f"period {data.period} was already recalculated; re-running it would change nothing",
                extra={"run": run_read(done).model_dump(mode="json")},
            )
        event_id = recalculation_event_id(data.period)
        try:
            await bus.publish_now(
                wrap(
                    RecalculationRequested(period=data.period, requested_by=identity.sub),
                    source=SOURCE,
                    event_id=event_id,
                )
            )
        except Exception as exc:  # NATS is away: nothing was requested, say so rather than 500
            raise BusUnavailable(f"the request could not be published to NATS ({exc}); try again shortly") from exc
        return RecalculationRead(period=data.period, status="requested", event_id=event_id, requested_by=identity.sub)
