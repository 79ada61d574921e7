"""The ``metric_breakdown_daily`` table: parts of a connection's daily metrics (channel groups, email
campaigns and flows), and their sums over a range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import MetricBreakdownDaily
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.shared.db import utcnow


@dataclass(frozen=True, slots=True)
class BreakdownSum:
    """One part's sum of one metric over a range."""

    platform: str
    dimension: str
    member: str
    label: str | None
    metric_key: str
    currency: str | None
    value: int


class MetricBreakdownRepository:
    """Idempotent upserts of breakdown rows, and their sums per part."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, account: StoredAccount, days: Sequence[MetricDay], *, final_before: date) -> int:
        """Upsert the breakdown rows among ``days``; returns rows written."""
        now = utcnow()
        rows = [
            {
                "connection_id": account.connection_id,
                "day": d.day,
                "metric_key": d.metric_key,
                "dimension": d.breakdown.dimension,
                "member": d.breakdown.member,
                "label": d.breakdown.label,
                "client_id": account.client_id,
                "platform": account.platform,
                "value": d.value,
                "currency": d.currency,
                "is_final": d.day < final_before,
                "fetched_at": now,
            }
            for d in days
            if d.breakdown is not None
        ]
        for chunk in range(0, len(rows), 1000):
            statement = dialect_insert(self.session, MetricBreakdownDaily).values(rows[chunk : chunk + 1000])
            excluded = statement.excluded
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["connection_id", "day", "metric_key", "dimension", "member"],
                    set_={
                        "label": excluded.label,
                        "value": excluded.value,
                        "currency": excluded.currency,
                        "is_final": excluded.is_final,
                        "fetched_at": excluded.fetched_at,
                    },
                )
            )
        return len(rows)

    async def mark_final(self, connection_id: str, before: date) -> None:
        """Days before ``before`` will not be re-read again."""
        await self.session.execute(
            update(MetricBreakdownDaily)
            .where(
                MetricBreakdownDaily.connection_id == connection_id,
                MetricBreakdownDaily.day < before,
                MetricBreakdownDaily.is_final.is_(False),
            )
            .values(is_final=True)
        )

    async def sums(self, client_id: str, dimension: str, start: date, end: date) -> list[BreakdownSum]:
        """Each part's sum of each metric over [start, end] (the newest label of the part)."""
        t = MetricBreakdownDaily
        query = (
            select(t.platform, t.dimension, t.member, func.max(t.label), t.metric_key, t.currency, func.sum(t.value))
            .where(t.client_id == client_id, t.dimension == dimension, t.day >= start, t.day <= end)
            .group_by(t.platform, t.dimension, t.member, t.metric_key, t.currency)
        )
        return [BreakdownSum(*row[:6], int(row[6] or 0)) for row in (await self.session.execute(query)).all()]
