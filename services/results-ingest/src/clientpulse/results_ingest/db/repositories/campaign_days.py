"""The ``campaign_daily`` table: one row per campaign and day, as the platform reported it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, and_, bindparam, func, select, text, type_coerce, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import CampaignDaily
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.records import CampaignDay
from clientpulse.shared.db import utcnow


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


class CampaignDayRepository:
    """Per-day campaign snapshots: idempotent upserts and the campaign table's reads."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, account: StoredAccount, days: Sequence[CampaignDay], *, final_before: date | None) -> int:
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
        statement = dialect_insert(self.session, CampaignDaily)
        excluded = statement.excluded
        keep = {"connection_id", "campaign_id", "day", "client_id", "platform"}
        updates = {c.name: excluded[c.name] for c in CampaignDaily.__table__.columns if c.name not in keep}
        # A platform that stops naming a creative does not erase the one already known.
        updates["creative_title"] = func.coalesce(excluded.creative_title, CampaignDaily.creative_title)
        upsert = statement.on_conflict_do_update(index_elements=["connection_id", "campaign_id", "day"], set_=updates)
        await self.session.execute(upsert, rows)
        return len(rows)

    async def mark_final(self, connection_id: str, before: date) -> None:
        """Days before ``before`` will not be re-read again: they are final."""
        await self.session.execute(
            update(CampaignDaily)
            .where(
                CampaignDaily.connection_id == connection_id,
                CampaignDaily.day < before,
                CampaignDaily.is_final.is_(False),
            )
            .values(is_final=True)
        )

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
