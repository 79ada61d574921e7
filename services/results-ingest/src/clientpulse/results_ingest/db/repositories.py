"""Repositories of the results-ingest service: the only code that speaks SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
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
class StoredAccount:
    """Where a connector's rows belong."""

    connection_id: str
    client_id: str
    platform: str
    time_zone: str


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
        self, account: StoredAccount, start: date, end: date, *, final_before: date | None
    ) -> int:
        """Re-derive the connection's daily advertising metrics from its campaign rows over [start, end]."""
        sums = (
            await self.session.execute(
                select(
                    CampaignDaily.day,
                    func.min(CampaignDaily.currency),
                    func.sum(CampaignDaily.spend_minor),
                    func.sum(CampaignDaily.impressions),
                    func.sum(CampaignDaily.clicks),
                    func.sum(CampaignDaily.conversions_e4),
                    func.sum(CampaignDaily.conversion_value_minor),
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
        rows: list[dict[str, Any]] = []
        for day, currency, spend, impressions, clicks, conversions, value in sums:
            for key, amount, unit, money in (
                ("spend_minor", spend, "money_minor", True),
                ("impressions", impressions, "count", False),
                ("clicks", clicks, "count", False),
                ("conversions_e4", conversions, "count_e4", False),
                ("conversion_value_minor", value, "money_minor", True),
            ):
                rows.append(
                    {
                        "connection_id": account.connection_id,
                        "day": day,
                        "metric_key": key,
                        "client_id": account.client_id,
                        "platform": account.platform,
                        "category": "advertising",
                        "value": int(amount or 0),
                        "unit": unit,
                        "currency": currency if money else None,
                        "time_zone": account.time_zone,
                        "is_final": final_before is not None and day < final_before,
                        "fetched_at": now,
                    }
                )
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

    def _campaign_sums(self, client_id: str, start: date, end: date) -> Any:
        latest_day = func.max(CampaignDaily.day)
        return (
            select(
                CampaignDaily.connection_id,
                CampaignDaily.campaign_id,
                func.min(CampaignDaily.platform).label("platform"),
                func.min(CampaignDaily.currency).label("currency"),
                func.sum(CampaignDaily.spend_minor).label("spend_minor"),
                func.sum(CampaignDaily.impressions).label("impressions"),
                func.sum(CampaignDaily.clicks).label("clicks"),
                func.sum(CampaignDaily.conversions_e4).label("conversions_e4"),
                func.sum(CampaignDaily.conversion_value_minor).label("conversion_value_minor"),
                latest_day.label("latest_day"),
            )
            .where(CampaignDaily.client_id == client_id, CampaignDaily.day >= start, CampaignDaily.day <= end)
            .group_by(CampaignDaily.connection_id, CampaignDaily.campaign_id)
        )

    async def campaign_rows(self, client_id: str, start: date, end: date) -> list[dict[str, Any]]:
        """Each campaign's sums over [start, end] with its latest name, status and creative title."""
        sums = self._campaign_sums(client_id, start, end).subquery()
        latest = CampaignDaily.__table__.alias("latest")
        query = select(
            sums,
            latest.c.campaign_name,
            latest.c.status,
            latest.c.creative_title,
        ).join(
            latest,
            and_(
                latest.c.connection_id == sums.c.connection_id,
                latest.c.campaign_id == sums.c.campaign_id,
                latest.c.day == sums.c.latest_day,
            ),
        )
        return [dict(row) for row in (await self.session.execute(query)).mappings().all()]

    async def campaign_rows_with_series(
        self, client_id: str, start: date, end: date
    ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[tuple[date, int]]]]:
        """Campaign sums and spend series in one pass over the rows.

        On PostgreSQL one query folds each campaign's days into arrays, so a 90-day table moves one
        row per campaign instead of one per campaign-day.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return await self.campaign_rows(client_id, start, end), await self.spend_series(client_id, start, end)

        query = (
            select(
                CampaignDaily.connection_id,
                CampaignDaily.campaign_id,
                func.min(CampaignDaily.platform).label("platform"),
                func.min(CampaignDaily.currency).label("currency"),
                func.sum(CampaignDaily.spend_minor).label("spend_minor"),
                func.sum(CampaignDaily.impressions).label("impressions"),
                func.sum(CampaignDaily.clicks).label("clicks"),
                func.sum(CampaignDaily.conversions_e4).label("conversions_e4"),
                func.sum(CampaignDaily.conversion_value_minor).label("conversion_value_minor"),
                func.max(CampaignDaily.day).label("latest_day"),
                func.array_agg(aggregate_order_by(CampaignDaily.day, CampaignDaily.day)).label("days"),
                func.array_agg(aggregate_order_by(CampaignDaily.spend_minor, CampaignDaily.day)).label("spends"),
            )
            .where(CampaignDaily.client_id == client_id, CampaignDaily.day >= start, CampaignDaily.day <= end)
            .group_by(CampaignDaily.connection_id, CampaignDaily.campaign_id)
        )
        rows: list[dict[str, Any]] = []
        series: dict[tuple[str, str], list[tuple[date, int]]] = {}
        for row in (await self.session.execute(query)).mappings().all():
            found = dict(row)
            days, spends = found.pop("days"), found.pop("spends")
            series[(found["connection_id"], found["campaign_id"])] = list(zip(days, spends, strict=True))
            rows.append(found)
        if rows:
            # Name, status and creative as of each campaign's latest day: primary-key lookups.
            keys = [(r["connection_id"], r["campaign_id"], r["latest_day"]) for r in rows]
            latest = {
                (c, k): (name, status, title)
                for c, k, name, status, title in (
                    await self.session.execute(
                        select(
                            CampaignDaily.connection_id,
                            CampaignDaily.campaign_id,
                            CampaignDaily.campaign_name,
                            CampaignDaily.status,
                            CampaignDaily.creative_title,
                        ).where(
                            tuple_(CampaignDaily.connection_id, CampaignDaily.campaign_id, CampaignDaily.day).in_(keys)
                        )
                    )
                ).all()
            }
            for r in rows:
                r["campaign_name"], r["status"], r["creative_title"] = latest[(r["connection_id"], r["campaign_id"])]
        return rows, series

    async def spend_series(
        self, client_id: str, start: date, end: date
    ) -> dict[tuple[str, str], list[tuple[date, int]]]:
        """Each campaign's daily spend over [start, end], oldest first (the sparkline)."""
        query = (
            select(CampaignDaily.connection_id, CampaignDaily.campaign_id, CampaignDaily.day, CampaignDaily.spend_minor)
            .where(CampaignDaily.client_id == client_id, CampaignDaily.day >= start, CampaignDaily.day <= end)
            .order_by(CampaignDaily.connection_id, CampaignDaily.campaign_id, CampaignDaily.day)
        )
        series: dict[tuple[str, str], list[tuple[date, int]]] = {}
        for connection_id, campaign_id, day, spend in (await self.session.execute(query)).all():
            series.setdefault((connection_id, campaign_id), []).append((day, int(spend)))
        return series

    async def period_reach(self, client_id: str, start: date, end: date) -> dict[tuple[str, str], int]:
        """The platform reach of each campaign for exactly [start, end], where it was fetched."""
        query = select(
            CampaignPeriodReach.connection_id, CampaignPeriodReach.campaign_id, CampaignPeriodReach.reach
        ).where(
            CampaignPeriodReach.client_id == client_id,
            CampaignPeriodReach.window_start == start,
            CampaignPeriodReach.window_end == end,
        )
        return {(c, k): int(r) for c, k, r in (await self.session.execute(query)).all()}

    async def latest_seven_day_reach(
        self, client_id: str, on_or_before: date
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """Each campaign's newest 7-day window ending on or before a day: (impressions, reach)."""
        query = select(
            CampaignPeriodReach.connection_id,
            CampaignPeriodReach.campaign_id,
            CampaignPeriodReach.window_start,
            CampaignPeriodReach.window_end,
            CampaignPeriodReach.impressions,
            CampaignPeriodReach.reach,
        ).where(
            CampaignPeriodReach.client_id == client_id,
            CampaignPeriodReach.window_end <= on_or_before,
            CampaignPeriodReach.window_end >= on_or_before - timedelta(days=7),
        )
        newest: dict[tuple[str, str], tuple[date, int, int]] = {}
        for connection_id, campaign_id, start, end, impressions, reach in (await self.session.execute(query)).all():
            key = (connection_id, campaign_id)
            if (end - start).days == 6 and (key not in newest or newest[key][0] < end):
                newest[key] = (end, int(impressions), int(reach))
        return {key: (impressions, reach) for key, (_end, impressions, reach) in newest.items()}

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
