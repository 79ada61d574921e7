"""The ``metric_window`` table: a platform's own count of people over a whole window (GA4 users)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import MetricWindow
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.catalogue import MetricSpec
from clientpulse.results_ingest.domain.records import WindowFigure
from clientpulse.shared.db import utcnow


class MetricWindowRepository:
    """Per-window counts: idempotent upserts, and the account figures of exactly one window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self, account: StoredAccount, catalogue: Mapping[str, MetricSpec], figures: Sequence[WindowFigure]
    ) -> int:
        """Upsert the figures as the platform counted them; returns rows written."""
        if not figures:
            return 0
        now = utcnow()
        rows = [
            {
                "connection_id": account.connection_id,
                "metric_key": f.metric_key,
                "window_start": f.start,
                "window_end": f.end,
                "dimension": f.breakdown.dimension if f.breakdown else "",
                "member": f.breakdown.member if f.breakdown else "",
                "label": f.breakdown.label if f.breakdown else None,
                "client_id": account.client_id,
                "platform": account.platform,
                "category": catalogue[f.metric_key].category.value,
                "value": f.value,
                "fetched_at": now,
            }
            for f in figures
        ]
        statement = dialect_insert(self.session, MetricWindow).values(rows)
        excluded = statement.excluded
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["connection_id", "metric_key", "window_start", "window_end", "dimension", "member"],
                set_={"label": excluded.label, "value": excluded.value, "fetched_at": excluded.fetched_at},
            )
        )
        return len(rows)

    async def account_figures(self, client_id: str, start: date, end: date) -> list[tuple[str, str, int]]:
        """(category, metric_key, value added over connections) of the account figures for exactly [start, end]."""
        t = MetricWindow
        query = (
            select(t.category, t.metric_key, func.sum(t.value))
            .where(t.client_id == client_id, t.window_start == start, t.window_end == end, t.dimension == "")
            .group_by(t.category, t.metric_key)
        )
        return [(c, k, int(v or 0)) for c, k, v in (await self.session.execute(query)).all()]

    async def keys_for(self, client_id: str) -> list[str]:
        """The per-window metrics a client has any figure of."""
        query = select(MetricWindow.metric_key).where(MetricWindow.client_id == client_id).distinct()
        return list((await self.session.scalars(query)).all())
