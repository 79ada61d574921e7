"""The ``metric_daily`` table: each connection's daily account metrics, derived from an ad platform's
campaign rows or given by the platform itself (a store's sales, an email account's sends…)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import CampaignDaily, Connection, MetricDaily
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.catalogue import MetricSpec, daily_sums
from clientpulse.results_ingest.domain.records import MetricDay
from clientpulse.shared.db import utcnow


class AccountMetricRepository:
    """Per-day account metrics: re-derived from campaign rows, summed over periods."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def refresh(
        self,
        account: StoredAccount,
        metrics: Sequence[MetricSpec],
        start: date,
        end: date,
        *,
        final_before: date | None,
    ) -> int:
        """Re-derive the connection's daily account metrics (the catalogue's daily sums that campaign rows
        carry) from its campaign rows over [start, end]; returns how many days were derived."""
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
        await self._upsert(_metric_rows(account, summed, sums, final_before))
        return len(sums)

    async def store(
        self,
        account: StoredAccount,
        catalogue: Mapping[str, MetricSpec],
        days: Sequence[MetricDay],
        *,
        final_before: date,
    ) -> int:
        """Upsert the account's own daily metrics (not their breakdowns); returns rows written."""
        now = utcnow()
        rows = [
            {
                "connection_id": account.connection_id,
                "day": d.day,
                "metric_key": d.metric_key,
                "client_id": account.client_id,
                "platform": account.platform,
                "category": catalogue[d.metric_key].category.value,
                "value": d.value,
                "unit": catalogue[d.metric_key].unit.value,
                "currency": d.currency if catalogue[d.metric_key].is_money else None,
                "time_zone": account.time_zone,
                "is_final": d.day < final_before,
                "fetched_at": now,
            }
            for d in days
        ]
        for chunk in range(0, len(rows), 1000):
            await self._upsert(rows[chunk : chunk + 1000])
        return len(rows)

    async def _upsert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        statement = dialect_insert(self.session, MetricDaily)
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

    async def mark_final(self, connection_id: str, before: date) -> None:
        """Days before ``before`` will not be re-read again: they are final."""
        await self.session.execute(
            update(MetricDaily)
            .where(
                MetricDaily.connection_id == connection_id, MetricDaily.day < before, MetricDaily.is_final.is_(False)
            )
            .values(is_final=True)
        )

    async def sums(
        self, client_id: str, start: date, end: date, keys: Collection[str]
    ) -> list[tuple[str, str, str | None, str | None, int]]:
        """(category, metric_key, currency, account currency, sum) of a client's additive account metrics over
        [start, end]; the account currency (its connection's) tells counts apart by the money they go with."""
        query = (
            select(
                MetricDaily.category,
                MetricDaily.metric_key,
                MetricDaily.currency,
                Connection.currency,
                func.sum(MetricDaily.value),
            )
            .outerjoin(Connection, Connection.id == MetricDaily.connection_id)
            .where(
                MetricDaily.client_id == client_id,
                MetricDaily.day >= start,
                MetricDaily.day <= end,
                MetricDaily.metric_key.in_(keys),
            )
            .group_by(MetricDaily.category, MetricDaily.metric_key, MetricDaily.currency, Connection.currency)
        )
        return [(c, k, cur, acc, int(v or 0)) for c, k, cur, acc, v in (await self.session.execute(query)).all()]

    async def daily_sums(
        self, client_id: str, start: date, end: date, keys: Collection[str]
    ) -> list[tuple[date, str, str | None, int]]:
        """(day, metric_key, currency, sum over connections) of a client's metrics, day by day."""
        query = (
            select(MetricDaily.day, MetricDaily.metric_key, MetricDaily.currency, func.sum(MetricDaily.value))
            .where(
                MetricDaily.client_id == client_id,
                MetricDaily.day >= start,
                MetricDaily.day <= end,
                MetricDaily.metric_key.in_(keys),
            )
            .group_by(MetricDaily.day, MetricDaily.metric_key, MetricDaily.currency)
        )
        return [(d, k, cur, int(v or 0)) for d, k, cur, v in (await self.session.execute(query)).all()]

    async def levels(
        self, client_id: str, start: date | None, end: date, keys: Collection[str]
    ) -> list[tuple[str, str, str | None, int]]:
        """(category, metric_key, currency, value) of level metrics at the end of [start, end]: each
        connection's value on its latest stored day in the range, added over connections."""
        if not keys:
            return []
        conditions = [MetricDaily.client_id == client_id, MetricDaily.day <= end, MetricDaily.metric_key.in_(keys)]
        if start is not None:
            conditions.append(MetricDaily.day >= start)
        latest = (
            select(MetricDaily.connection_id, MetricDaily.metric_key, func.max(MetricDaily.day).label("day"))
            .where(*conditions)
            .group_by(MetricDaily.connection_id, MetricDaily.metric_key)
            .subquery()
        )
        query = (
            select(MetricDaily.category, MetricDaily.metric_key, MetricDaily.currency, func.sum(MetricDaily.value))
            .join(
                latest,
                (MetricDaily.connection_id == latest.c.connection_id)
                & (MetricDaily.metric_key == latest.c.metric_key)
                & (MetricDaily.day == latest.c.day),
            )
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


def _metric_rows(
    account: StoredAccount, summed: Sequence[MetricSpec], sums: Sequence[Any], final_before: date | None
) -> list[dict[str, Any]]:
    """One metric_daily row per (day, metric) of the per-day sums ``(day, currency, *amounts)``."""
    now = utcnow()
    return [
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
