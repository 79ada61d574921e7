"""Repositories of the results-ingest service: the only code that speaks SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, and_, bindparam, func, or_, select, text, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import (
    ACTIVE_BACKFILL_STATES,
    Backfill,
    BackfillSlice,
    CampaignDaily,
    CampaignPeriodReach,
    Connection,
    LinkedGoal,
    MetricDaily,
    OAuthState,
)
from clientpulse.results_ingest.domain.catalogue import MetricSpec, daily_sums
from clientpulse.results_ingest.domain.records import CampaignDay
from clientpulse.shared.db import utcnow


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


class ConnectionRepository:
    """Platform connections."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_client(self, client_id: str) -> Sequence[Connection]:
        """A client's connections, oldest first."""
        query = (
            select(Connection).where(Connection.client_id == client_id).order_by(Connection.created_at, Connection.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, client_id: str, connection_id: str) -> Connection | None:
        """One of a client's connections."""
        query = select(Connection).where(Connection.client_id == client_id, Connection.id == connection_id)
        return (await self.session.scalars(query)).first()

    async def by_id(self, connection_id: str) -> Connection | None:
        """A connection by its id alone (workers)."""
        return await self.session.get(Connection, connection_id)

    async def find(self, client_id: str, platform: str, account_id: str) -> Connection | None:
        """The connection of a client to one platform account, if any."""
        query = select(Connection).where(
            Connection.client_id == client_id, Connection.platform == platform, Connection.account_id == account_id
        )
        return (await self.session.scalars(query)).first()

    async def add(self, connection: Connection) -> None:
        """Store a new connection."""
        self.session.add(connection)
        await self.session.flush()

    async def remove(self, connection: Connection) -> None:
        """Forget a connection (its stored results stay, as history)."""
        await self.session.delete(connection)
        await self.session.flush()

    async def all_syncable(self, platforms: Sequence[str]) -> Sequence[Connection]:
        """Every connection of the given platforms that is not waiting for a person to reconnect."""
        query = (
            select(Connection)
            .where(Connection.platform.in_(platforms), Connection.status != "expired")
            .order_by(Connection.client_id, Connection.id)
        )
        return (await self.session.scalars(query)).all()

    async def rotate_secrets(self, rotate: Callable[[str], str]) -> int:
        """Re-encrypt every stored secret (connections and pending OAuth verifiers); returns how many."""
        count = 0
        for connection in (await self.session.scalars(select(Connection).where(Connection.secret.is_not(None)))).all():
            connection.secret = rotate(connection.secret or "")
            count += 1
        for flow in (await self.session.scalars(select(OAuthState).where(OAuthState.code_verifier.is_not(None)))).all():
            flow.code_verifier = rotate(flow.code_verifier or "")
            count += 1
        await self.session.flush()
        return count

    async def for_clients_platforms(self, client_id: str, platforms: Sequence[str]) -> Sequence[Connection]:
        """A client's connections to the given platforms."""
        query = (
            select(Connection)
            .where(Connection.client_id == client_id, Connection.platform.in_(platforms))
            .order_by(Connection.id)
        )
        return (await self.session.scalars(query)).all()


class OAuthStateRepository:
    """Authorization-code flows in progress."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, state: OAuthState) -> None:
        """Remember a flow until its callback or its expiry."""
        self.session.add(state)
        await self.session.flush()

    async def take(self, state: str, platform: str, now: datetime) -> OAuthState | None:
        """The flow named by ``state``, removed so it can be used once; ``None`` if unknown or expired."""
        row = (await self.session.scalars(select(OAuthState).where(OAuthState.state == state))).first()
        if row is None or row.platform != platform:
            return None
        await self.session.delete(row)
        await self.session.flush()
        return row if row.expires_at > now else None


@dataclass(frozen=True, slots=True)
class CampaignWindow:
    """One campaign's sums over a window, as of its latest day in it."""

    connection_id: str
    campaign_id: str
    platform: str
    currency: str
    campaign_name: str
    status: str | None
    creative_title: str | None
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int
    # The days that have a row, as offsets from the window's start, and each one's spend (same order).
    spend_days: Sequence[int]
    spends: Sequence[int]


def _campaign_window(row: Any, spend_days: Sequence[int], spends: Sequence[int]) -> CampaignWindow:
    """A row of (ids, platform, currency, name, status, creative, five sums, ...) as a CampaignWindow."""
    connection_id, campaign_id, platform, currency, name, status, creative = row[:7]
    spend, impressions, clicks, conversions, value = (int(v) for v in row[7:12])
    return CampaignWindow(
        connection_id, campaign_id, platform, currency, name, status, creative,
        spend, impressions, clicks, conversions, value, spend_days, spends,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReachWindow:
    """A campaign's platform-counted reach, and its impressions, over one window."""

    connection_id: str
    campaign_id: str
    start: date
    end: date
    impressions: int
    reach: int


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """Where a connector's rows belong."""

    connection_id: str
    client_id: str
    platform: str
    time_zone: str


def _client_window() -> Any:
    """A client's rows of campaign_daily in [window_start, window_end] (bound at execution)."""
    return and_(
        CampaignDaily.client_id == bindparam("client_id"),
        CampaignDaily.day >= bindparam("window_start", type_=Date),
        CampaignDaily.day <= bindparam("window_end", type_=Date),
    )


def _campaign_window_statement(with_series: bool) -> Any:
    offset = type_coerce(CampaignDaily.day - bindparam("window_start", type_=Date), Integer)
    series = (
        [
            func.array_agg(offset, type_=postgresql.ARRAY(Integer, as_tuple=True)).label("offsets"),
            func.array_agg(CampaignDaily.spend_minor, type_=postgresql.ARRAY(BigInteger, as_tuple=True)).label(
                "spends"
            ),
        ]
        if with_series
        else []
    )
    sums = (
        select(
            CampaignDaily.connection_id,
            CampaignDaily.campaign_id,
            func.sum(CampaignDaily.spend_minor).label("spend_minor"),
            func.sum(CampaignDaily.impressions).label("impressions"),
            func.sum(CampaignDaily.clicks).label("clicks"),
            func.sum(CampaignDaily.conversions_e4).label("conversions_e4"),
            func.sum(CampaignDaily.conversion_value_minor).label("conversion_value_minor"),
            func.max(CampaignDaily.day).label("latest_day"),
            *series,
        )
        .where(_client_window())
        .group_by(CampaignDaily.connection_id, CampaignDaily.campaign_id)
        .cte("sums")
    )
    latest = CampaignDaily.__table__.alias("latest")
    return select(
        sums.c.connection_id,
        sums.c.campaign_id,
        latest.c.platform,
        latest.c.currency,
        latest.c.campaign_name,
        latest.c.status,
        latest.c.creative_title,
        sums.c.spend_minor,
        sums.c.impressions,
        sums.c.clicks,
        sums.c.conversions_e4,
        sums.c.conversion_value_minor,
        *([sums.c.offsets, sums.c.spends] if with_series else []),
    ).join(
        latest,
        and_(
            latest.c.connection_id == sums.c.connection_id,
            latest.c.campaign_id == sums.c.campaign_id,
            latest.c.day == sums.c.latest_day,
        ),
    )


# The campaign table's reads, built once: a client's window of campaign_daily, summed per campaign
# and joined to each campaign's latest row (with the daily spend folded into arrays on PostgreSQL).
_CAMPAIGN_WINDOW = _campaign_window_statement(with_series=False)
_CAMPAIGN_WINDOW_WITH_SERIES = _campaign_window_statement(with_series=True)
_DAILY_SPEND = select(
    CampaignDaily.connection_id, CampaignDaily.campaign_id, CampaignDaily.day, CampaignDaily.spend_minor
).where(_client_window())


class ResultsRepository:
    """Per-day campaign snapshots, period reach and account metrics: idempotent upserts and reads."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_campaign_days(
        self, account: StoredAccount, days: Sequence[CampaignDay], *, final_before: date | None
    ) -> int:
        """Insert or replace each (connection, campaign, day) row; a re-read never adds a second copy."""
        now = utcnow()
        rows = [
            {
                "connection_id": account.connection_id,
                "campaign_id": d.campaign_id,
                "day": d.day,
                "client_id": account.client_id,
                "platform": account.platform,
                "campaign_name": d.campaign_name[:500],
                "status": d.status.value if d.status else None,
                "status_raw": d.status_raw,
                "creative_title": d.creative_title[:500] if d.creative_title else None,
                "currency": d.currency,
                "time_zone": account.time_zone,
                "spend_minor": d.spend_minor,
                "impressions": d.impressions,
                "clicks": d.clicks,
                "conversions_e4": d.conversions_e4,
                "conversion_value_minor": d.conversion_value_minor,
                "reach_daily": d.reach_daily,
                "is_final": final_before is not None and d.day < final_before,
                "fetched_at": now,
            }
            for d in days
        ]
        if not rows:
            return 0
        # One statement compiled once and sent as batched VALUES (SQLAlchemy's insertmanyvalues).
        statement = _insert(self.session, CampaignDaily)
        excluded = statement.excluded
        keep = {"connection_id", "campaign_id", "day", "client_id", "platform"}
        updates = {c.name: excluded[c.name] for c in CampaignDaily.__table__.columns if c.name not in keep}
        # A platform that stops naming a creative does not erase the one already known.
        updates["creative_title"] = func.coalesce(excluded.creative_title, CampaignDaily.creative_title)
        upsert = statement.on_conflict_do_update(index_elements=["connection_id", "campaign_id", "day"], set_=updates)
        await self.session.execute(upsert, rows)
        return len(rows)

    async def refresh_account_metrics(
        self,
        account: StoredAccount,
        metrics: Sequence[MetricSpec],
        start: date,
        end: date,
        *,
        final_before: date | None,
    ) -> int:
        """Re-derive the connection's daily account metrics (the catalogue's daily sums that campaign rows
        carry) from its campaign rows over [start, end]."""
        summed = [m for m in daily_sums(tuple(metrics)) if m.key in CampaignDaily.__table__.columns]
        if not summed:
            return 0
        sums = (
            await self.session.execute(
                select(
                    CampaignDaily.day,
                    func.min(CampaignDaily.currency),
                    *(func.sum(CampaignDaily.__table__.columns[m.key]) for m in summed),
                )
                .where(
                    CampaignDaily.connection_id == account.connection_id,
                    CampaignDaily.day >= start,
                    CampaignDaily.day <= end,
                )
                .group_by(CampaignDaily.day)
            )
        ).all()
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "connection_id": account.connection_id,
                "day": day,
                "metric_key": metric.key,
                "client_id": account.client_id,
                "platform": account.platform,
                "category": metric.category.value,
                "value": int(amount or 0),
                "unit": metric.unit.value,
                "currency": currency if metric.is_money else None,
                "time_zone": account.time_zone,
                "is_final": final_before is not None and day < final_before,
                "fetched_at": now,
            }
            for day, currency, *amounts in sums
            for metric, amount in zip(summed, amounts, strict=True)
        ]
        if rows:
            statement = _insert(self.session, MetricDaily)
            excluded = statement.excluded
            upsert = statement.on_conflict_do_update(
                index_elements=["connection_id", "day", "metric_key"],
                set_={
                    "value": excluded.value,
                    "currency": excluded.currency,
                    "is_final": excluded.is_final,
                    "fetched_at": excluded.fetched_at,
                },
            )
            await self.session.execute(upsert, rows)
        return len(sums)

    async def mark_final(self, connection_id: str, before: date) -> None:
        """Days before ``before`` will not be re-read again: they are final."""
        for table in (CampaignDaily, MetricDaily):
            await self.session.execute(
                update(table)
                .where(table.connection_id == connection_id, table.day < before, table.is_final.is_(False))
                .values(is_final=True)
            )

    async def upsert_period_reach(
        self, account: StoredAccount, window_start: date, window_end: date, reach: dict[str, tuple[int, int]]
    ) -> None:
        """Store each campaign's (reach, impressions) for one window as the platform reported it."""
        if not reach:
            return
        now = utcnow()
        rows = [
            {
                "connection_id": account.connection_id,
                "campaign_id": campaign_id,
                "window_start": window_start,
                "window_end": window_end,
                "client_id": account.client_id,
                "reach": people,
                "impressions": impressions,
                "fetched_at": now,
            }
            for campaign_id, (people, impressions) in reach.items()
        ]
        statement = _insert(self.session, CampaignPeriodReach).values(rows)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["connection_id", "campaign_id", "window_start", "window_end"],
                set_={
                    "reach": statement.excluded.reach,
                    "impressions": statement.excluded.impressions,
                    "fetched_at": statement.excluded.fetched_at,
                },
            )
        )

    async def account_metric_sums(
        self, client_id: str, start: date, end: date
    ) -> list[tuple[str, str, str | None, int]]:
        """(category, metric_key, currency, sum) of a client's account metrics over [start, end]."""
        query = (
            select(MetricDaily.category, MetricDaily.metric_key, MetricDaily.currency, func.sum(MetricDaily.value))
            .where(MetricDaily.client_id == client_id, MetricDaily.day >= start, MetricDaily.day <= end)
            .group_by(MetricDaily.category, MetricDaily.metric_key, MetricDaily.currency)
        )
        return [(c, k, cur, int(v or 0)) for c, k, cur, v in (await self.session.execute(query)).all()]

    async def has_unfinal_days(self, client_id: str, start: date, end: date) -> bool:
        """Whether a window still contains days the platforms may restate."""
        query = select(func.count()).where(
            MetricDaily.client_id == client_id,
            MetricDaily.day >= start,
            MetricDaily.day <= end,
            MetricDaily.is_final.is_(False),
        )
        return bool(await self.session.scalar(query))

    async def campaign_window(self, client_id: str, start: date, end: date) -> list[CampaignWindow]:
        """Each campaign's sums over [start, end], its daily spend, and its latest name, status and creative.

        On PostgreSQL this is one statement: an aggregate over the covering index (no heap access,
        no sort: the days come back unordered as offsets from ``start``) joined by primary key to
        each campaign's latest row, so a 90-day table moves one row per campaign. Elsewhere the
        daily spend is a second, plain read.
        """
        params = {"client_id": client_id, "window_start": start, "window_end": end}
        # Core, not the ORM session's execute: the rows are tuples, and this is the hot read.
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            # The planner cannot know that one client's rows hold only its own ~hundreds of campaigns
            # (it estimates thousands of groups) and sorts the window's rows by campaign instead of
            # hashing them: twice as slow at 13,500 rows. Sorting is discouraged for this statement only.
            await connection.execute(text("SET LOCAL enable_sort = off"))
            try:
                rows = (await connection.execute(_CAMPAIGN_WINDOW_WITH_SERIES, params)).all()
            finally:
                await connection.execute(text("RESET enable_sort"))
            return [_campaign_window(row, row[12], row[13]) for row in rows]
        daily: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
        for connection_id, campaign_id, day, spend in await connection.execute(_DAILY_SPEND, params):
            days, spends = daily.setdefault((connection_id, campaign_id), ([], []))
            days.append((day - start).days)
            spends.append(int(spend))
        rows = (await connection.execute(_CAMPAIGN_WINDOW, params)).all()
        return [_campaign_window(row, *daily[(row[0], row[1])]) for row in rows]

    async def reach_windows(self, client_id: str, start: date, end: date) -> list[ReachWindow]:
        """The platform reach stored for exactly [start, end] and for windows ending in the week up to ``end``."""
        query = select(
            CampaignPeriodReach.connection_id,
            CampaignPeriodReach.campaign_id,
            CampaignPeriodReach.window_start,
            CampaignPeriodReach.window_end,
            CampaignPeriodReach.impressions,
            CampaignPeriodReach.reach,
        ).where(
            CampaignPeriodReach.client_id == client_id,
            or_(
                and_(CampaignPeriodReach.window_start == start, CampaignPeriodReach.window_end == end),
                and_(CampaignPeriodReach.window_end <= end, CampaignPeriodReach.window_end >= end - timedelta(days=7)),
            ),
        )
        return [ReachWindow(*row) for row in (await self.session.execute(query)).all()]

    async def campaign_totals(self, client_id: str) -> dict[str, int]:
        """Whole-history sums of a client's campaign rows (what a test compares between two runs)."""
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(CampaignDaily.spend_minor), 0),
                    func.coalesce(func.sum(CampaignDaily.impressions), 0),
                    func.coalesce(func.sum(CampaignDaily.conversions_e4), 0),
                    func.count(func.distinct(CampaignDaily.day)),
                ).where(CampaignDaily.client_id == client_id)
            )
        ).one()
        return {
            "rows": int(row[0]),
            "spend_minor": int(row[1]),
            "impressions": int(row[2]),
            "conversions_e4": int(row[3]),
            "days": int(row[4]),
        }


class BackfillConflict(Exception):
    """Another backfill of the same client is still queued or running."""


class BackfillRepository:
    """Backfill jobs and their slices (the checkpoints)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, client_id: str) -> Backfill | None:
        """The client's queued or running backfill, if any."""
        query = select(Backfill).where(Backfill.client_id == client_id, Backfill.status.in_(ACTIVE_BACKFILL_STATES))
        return (await self.session.scalars(query)).first()

    async def add(self, backfill: Backfill) -> None:
        """Store a new backfill; raise ``BackfillConflict`` when the one-active index refuses it."""
        try:
            async with self.session.begin_nested():
                self.session.add(backfill)
                await self.session.flush()
        except IntegrityError as exc:
            raise BackfillConflict(backfill.client_id) from exc

    async def get(self, backfill_id: str) -> Backfill | None:
        """A backfill by id."""
        return await self.session.get(Backfill, backfill_id)

    async def for_client(self, client_id: str, backfill_id: str) -> Backfill | None:
        """One of a client's backfills."""
        query = select(Backfill).where(Backfill.id == backfill_id, Backfill.client_id == client_id)
        return (await self.session.scalars(query)).first()

    async def add_slices(self, slices: Sequence[BackfillSlice]) -> None:
        """Plan the slices of a backfill (ignoring ones already planned by an earlier delivery)."""
        if not slices:
            return
        rows = [
            {
                "backfill_id": s.backfill_id,
                "connection_id": s.connection_id,
                "window_start": s.window_start,
                "window_end": s.window_end,
                "platform": s.platform,
                "status": "pending",
                "rows_written": 0,
            }
            for s in slices
        ]
        await self.session.execute(_insert(self.session, BackfillSlice).values(rows).on_conflict_do_nothing())

    async def waiting_until(self, backfill_id: str) -> datetime | None:
        """The latest time a pending slice of the backfill waits for (a platform asked to wait), if any."""
        query = select(func.max(BackfillSlice.waiting_until)).where(
            BackfillSlice.backfill_id == backfill_id, BackfillSlice.status != "done"
        )
        return await self.session.scalar(query)

    async def pending_slices(self, backfill_id: str) -> Sequence[BackfillSlice]:
        """The slices not done yet."""
        query = select(BackfillSlice).where(BackfillSlice.backfill_id == backfill_id, BackfillSlice.status != "done")
        return (
            await self.session.scalars(query.order_by(BackfillSlice.connection_id, BackfillSlice.window_start))
        ).all()

    async def slice(self, backfill_id: str, connection_id: str, window_start: date) -> BackfillSlice | None:
        """One slice."""
        return await self.session.get(BackfillSlice, (backfill_id, connection_id, window_start))

    async def start(self, backfill_id: str, slices_total: int) -> None:
        """The plan is stored: the backfill is running."""
        await self.session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.status == "queued")
            .values(status="running", slices_total=slices_total)
        )

    async def complete_slice(self, item: BackfillSlice, rows_written: int) -> tuple[int, int, int]:
        """Checkpoint one slice; returns the backfill's (slices_done, slices_total, rows_written) after it.

        The counter is advanced in one UPDATE so concurrent workers on PostgreSQL serialise on the
        backfill's row and exactly one of them sees the last slice done.
        """
        item.status = "done"
        item.rows_written = rows_written
        item.done_at = utcnow()
        await self.session.flush()
        await self.session.execute(
            update(Backfill)
            .where(Backfill.id == item.backfill_id)
            .values(slices_done=Backfill.slices_done + 1, rows_written=Backfill.rows_written + rows_written)
        )
        row = (
            await self.session.execute(
                select(Backfill.slices_done, Backfill.slices_total, Backfill.rows_written).where(
                    Backfill.id == item.backfill_id
                )
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    async def finish(self, backfill_id: str, *, status: str, error: str | None = None) -> bool:
        """Close a backfill that is still active; ``False`` if it was already closed."""
        result = await self.session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.status.in_(ACTIVE_BACKFILL_STATES))
            .values(status=status, error=error, finished_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))


class LinkedGoalRepository:
    """Goals replicated from the clients service."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, goal_id: str) -> LinkedGoal | None:
        """One goal by id."""
        return await self.session.get(LinkedGoal, goal_id)

    async def insert_if_new(self, goal_id: str, facts: dict[str, Any]) -> bool:
        """Insert a goal heard of for the first time; False when it is already known (concurrent
        deliveries of one goal's events meet here, not in a unique-key error)."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(LinkedGoal).values(goal_id=goal_id, **facts).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def open_for(self, client_id: str) -> Sequence[LinkedGoal]:
        """A client's open goals that follow a metric."""
        query = (
            select(LinkedGoal)
            .where(LinkedGoal.client_id == client_id, LinkedGoal.metric.is_not(None), LinkedGoal.closed.is_(False))
            .order_by(LinkedGoal.goal_id)
        )
        return (await self.session.scalars(query)).all()
