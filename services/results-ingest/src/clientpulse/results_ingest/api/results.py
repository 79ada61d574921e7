"""The results API: backfills, account metrics for a period, the campaign table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from pydantic import BaseModel, Field

from clientpulse.results_ingest.api.deps import PlatformRuntime
from clientpulse.results_ingest.db.models import BackfillSlice
from clientpulse.results_ingest.db.repositories.backfills import BackfillRepository
from clientpulse.results_ingest.db.repositories.metric_breakdowns import MetricBreakdownRepository
from clientpulse.results_ingest.domain import backfills, metric_report, reporting
from clientpulse.results_ingest.domain.catalogue import Category
from clientpulse.results_ingest.domain.goals import GoalView, goals_by_metric
from clientpulse.results_ingest.domain.periods import DateRange, PeriodKind, last_complete_period, previous_range
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.guards import ClientsModuleController, InputModel
from clientpulse.shared.service import Caller, Db

MAX_RANGE_DAYS = 400


class BackfillCreate(InputModel):
    """Backfill the last 30, 60 or 90 complete days."""

    days: Literal[30, 60, 90]


class SliceRead(BaseModel):
    """One window of one connection: where a backfill stands on it."""

    window_start: date
    window_end: date
    status: Literal["pending", "done", "failed"]
    rows_written: int
    error: str | None
    waiting_until: datetime | None = Field(description="the platform asked this window to wait until then")


class BackfillPartRead(BaseModel):
    """One connection's share of a backfill, its windows newest first."""

    platform: str
    connection_id: str
    status: Literal["pending", "running", "done", "failed", "partial"] = Field(
        description="pending: no window read yet; running: some read, some to go; done: every window "
        "stored; failed: every window refused; partial: some stored, some refused"
    )
    slices: list[SliceRead]


class BackfillRead(BaseModel):
    """A backfill's progress and outcome: ``partial`` when some platforms' windows failed and the
    others were stored (``error`` and ``parts`` say which)."""

    id: str
    client_id: str
    days: int
    status: Literal["queued", "running", "completed", "partial", "failed"]
    window_start: date
    window_end: date
    slices_total: int
    slices_done: int
    slices_failed: int = 0
    rows_written: int
    error: str | None
    requested_by: str
    created_at: datetime
    finished_at: datetime | None
    waiting_until: datetime | None = Field(
        default=None, description="a platform asked part of the backfill to wait until then; it resumes by itself"
    )
    parts: list[BackfillPartRead] = Field(default_factory=list, description="each connection's windows")


class DeltaRead(BaseModel):
    """Change against the previous period; ``relative`` is null when the previous value was 0."""

    absolute: Decimal | None
    relative: Decimal | None


class GoalRead(BaseModel):
    """A client goal that follows this metric, judged on the metric over the goal's period so far."""

    goal_id: str
    name: str
    target: Decimal
    current: Decimal
    status: str
    period_start: date
    period_end: date


class MetricRead(BaseModel):
    """One metric of the period (money in minor units of ``currency``)."""

    category: str
    metric: str
    unit: str = Field(description="money_minor, count, count_e4 (shown scaled back), ratio, duration_seconds, score")
    aggregation: Literal["sum", "level", "window_unique", "ratio"] = Field(
        description="sum: added over the days; level: the value at the period's end; window_unique: the "
        "platform's own count of people for exactly this range; ratio: derived from the period's sums"
    )
    currency: str | None
    current: Decimal | None
    previous: Decimal | None
    delta: DeltaRead
    note: str | None = Field(default=None, description="why a value is missing, when it is")
    goals: list[GoalRead] = []


class CategoryRead(BaseModel):
    """The metrics of one dashboard section."""

    category: str
    metrics: list[MetricRead]


class MetricsRead(BaseModel):
    """Account metrics for a period against the period before."""

    client_id: str
    period: str
    start: date
    end: date
    previous_start: date
    previous_end: date
    includes_unfinal_days: bool
    categories: list[CategoryRead] = Field(description="the metrics by dashboard section, in the sections' order")


class BreakdownMemberRead(BaseModel):
    """One part of the client's figures over the range (a channel group, an email campaign or flow)."""

    platform: str
    member: str
    label: str | None
    metrics: dict[str, Decimal] = Field(description="each metric's sum over the range, money in minor units")
    currency: str | None


class BreakdownRead(BaseModel):
    """The client's figures broken down by one dimension over a range."""

    client_id: str
    dimension: str
    start: date
    end: date
    items: list[BreakdownMemberRead]


class CampaignRead(BaseModel):
    """One campaign over the range; ratios from the range's sums, money in minor units of ``currency``."""

    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    status: str | None
    creative_title: str | None
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    revenue_minor: int
    roas: Decimal | None
    cpa_minor: Decimal | None
    ctr: Decimal | None
    reach: int | None
    frequency: Decimal | None
    seven_day_frequency: Decimal | None
    fatigued: bool
    spend_series: list[int] = Field(
        description="the sparkline: spend in minor units for each day of the range, from start to end (0 when none)"
    )
    reach_note: str | None = Field(
        default=None, description="why reach and frequency are empty for this campaign and range, when they are"
    )


class CampaignTable(BaseModel):
    """The campaign table of a client for a range."""

    client_id: str
    start: date
    end: date
    sort: reporting.CampaignSort
    order: Literal["asc", "desc"]
    items: list[CampaignRead]


def _window(start: date | None, end: date | None) -> DateRange:
    if start is None or end is None:
        raise Unprocessable("give both start and end (YYYY-MM-DD), or a period")
    if end < start:
        raise Unprocessable("end is before start")
    window = DateRange(start, end)
    if window.days > MAX_RANGE_DAYS:
        raise Unprocessable(f"a range covers at most {MAX_RANGE_DAYS} days")
    return window


def _parts(slices: Sequence[BackfillSlice]) -> list[BackfillPartRead]:
    """A backfill's slices by connection, each part's status from its windows'."""
    by_connection: dict[tuple[str, str], list[SliceRead]] = {}
    for item in slices:
        by_connection.setdefault((item.platform, item.connection_id), []).append(
            SliceRead.model_validate(item, from_attributes=True)
        )
    return [
        BackfillPartRead(platform=platform, connection_id=connection_id, status=part_status(windows), slices=windows)
        for (platform, connection_id), windows in by_connection.items()
    ]


def part_status(windows: Sequence[SliceRead]) -> Literal["pending", "running", "done", "failed", "partial"]:
    """Where one connection's part of a backfill stands, from its windows."""
    states = {w.status for w in windows}
    if "pending" in states:
        return "running" if states - {"pending"} else "pending"
    if states == {"done"}:
        return "done"
    return "failed" if states == {"failed"} else "partial"


def _metric_read(line: metric_report.MetricLine, goals: list[GoalView]) -> MetricRead:
    return MetricRead(
        category=line.category,
        metric=line.metric,
        unit=line.unit,
        aggregation=line.aggregation,  # type: ignore[arg-type]
        currency=line.currency,
        current=line.current,
        previous=line.previous,
        delta=DeltaRead(absolute=line.delta.absolute, relative=line.delta.relative),
        note=line.note,
        goals=[
            GoalRead(
                goal_id=g.goal_id,
                name=g.name,
                target=g.target,
                current=g.current,
                status=g.status.value,
                period_start=g.period_start,
                period_end=g.period_end,
            )
            for g in goals
        ],
    )


def _by_category(lines: list[metric_report.MetricLine], linked: dict[str, list[GoalView]]) -> list[CategoryRead]:
    """The lines grouped by dashboard section, sections in the catalogue's order."""
    order = {c.value: i for i, c in enumerate(Category)}
    grouped: dict[str, list[MetricRead]] = {}
    for line in lines:
        grouped.setdefault(line.category, []).append(_metric_read(line, linked.get(line.metric, [])))
    return [CategoryRead(category=c, metrics=m) for c, m in sorted(grouped.items(), key=lambda i: order.get(i[0], 99))]


class ResultsController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/results``"""

    path = "/api/v1/clients/{client_id:str}/results"
    tags = ["results"]

    @post(
        "/backfills", summary="Backfill 30, 60 or 90 days of a client's platform results", status_code=HTTP_202_ACCEPTED
    )
    async def request_backfill(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[BackfillCreate]
    ) -> Response[BackfillRead]:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            backfill = await backfills.request_backfill(session, identity, client_id, data.days)
            body = BackfillRead.model_validate(backfill, from_attributes=True)
        location = f"/api/v1/clients/{client_id}/results/backfills/{body.id}"
        return Response(body, status_code=HTTP_202_ACCEPTED, headers={"Location": location})

    @get("/backfills/{backfill_id:str}", summary="A backfill's progress and outcome")
    async def get_backfill(
        self, identity: Caller, db: Db, client_id: FromPath[str], backfill_id: FromPath[str]
    ) -> BackfillRead:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            repository = BackfillRepository(session)
            backfill = await repository.for_client(client_id, backfill_id)
            if backfill is None:
                raise NotFound(f"backfill {backfill_id} was not found")
            body = BackfillRead.model_validate(backfill, from_attributes=True)
            if backfill.status == "running":
                body.waiting_until = await repository.waiting_until(backfill.id)
            body.parts = _parts(await repository.slices_of(backfill.id))
            return body

    @get("/metrics", summary="Account metrics for a period with period-over-period deltas")
    async def metrics(
        self,
        identity: Caller,
        db: Db,
        runtime: PlatformRuntime,
        client_id: FromPath[str],
        period: FromQuery[PeriodKind | None] = None,
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
    ) -> MetricsRead:
        if period is not None and (start or end):
            raise Unprocessable("give a period or a start/end range, not both")
        if period is not None:
            current, previous = last_complete_period(period, utcnow().date())
        elif start is None and end is None:
            period = PeriodKind.MONTH
            current, previous = last_complete_period(period, utcnow().date())
        else:
            current = _window(start, end)
            previous = previous_range(current)
        rates = runtime.settings.rate_table()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            lines, unfinal = await metric_report.account_metrics(session, client_id, current, previous, rates)
            linked = await goals_by_metric(session, client_id, utcnow().date(), rates)
        return MetricsRead(
            client_id=client_id,
            period=period.value if period else "custom",
            start=current.start,
            end=current.end,
            previous_start=previous.start,
            previous_end=previous.end,
            includes_unfinal_days=unfinal,
            categories=_by_category(lines, linked),
        )

    @get("/breakdown", summary="Metrics by channel group, email campaign or email flow over a range")
    async def breakdown(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        dimension: Annotated[
            Literal["channel_group", "email_campaign", "email_flow"],
            QueryParameter(description="what to break down by"),
        ],
        start: FromQuery[date],
        end: FromQuery[date],
    ) -> BreakdownRead:
        window = _window(start, end)
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            sums = await MetricBreakdownRepository(session).sums(client_id, dimension, window.start, window.end)
        members: dict[tuple[str, str], BreakdownMemberRead] = {}
        for row in sums:
            item = members.setdefault(
                (row.platform, row.member),
                BreakdownMemberRead(
                    platform=row.platform, member=row.member, label=row.label, metrics={}, currency=None
                ),
            )
            item.metrics[metric_report.public_name(row.metric_key)] = metric_report.real_value(
                row.metric_key, row.value
            )
            item.currency = item.currency or row.currency
        items = sorted(members.values(), key=lambda m: (m.platform, (m.label or m.member).lower(), m.member))
        return BreakdownRead(client_id=client_id, dimension=dimension, start=window.start, end=window.end, items=items)

    @get("/campaigns", summary="The campaign table for a range, sortable")
    async def campaigns(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        start: FromQuery[date],
        end: FromQuery[date],
        sort: FromQuery[reporting.CampaignSort] = reporting.CampaignSort.SPEND,
        order: Annotated[Literal["asc", "desc"], QueryParameter(description="sort direction")] = "desc",
    ) -> CampaignTable:
        window = _window(start, end)
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            lines = await reporting.campaign_table(session, client_id, window, sort, order == "desc")
        return CampaignTable(
            client_id=client_id,
            start=window.start,
            end=window.end,
            sort=sort,
            order=order,
            items=[CampaignRead.model_validate(line, from_attributes=True) for line in lines],
        )
