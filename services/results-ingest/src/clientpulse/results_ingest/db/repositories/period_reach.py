"""The ``campaign_period_reach`` table: each campaign's reach over a window, as the platform counted it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import CampaignPeriodReach
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.shared.db import utcnow


@dataclass(frozen=True, slots=True)
class ReachWindow:
    """A campaign's platform-counted reach, and its impressions, over one window."""

    connection_id: str
    campaign_id: str
    start: date
    end: date
    impressions: int
    reach: int


class PeriodReachRepository:
    """Platform-counted reach per campaign and window: idempotent upserts and reads."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
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
        statement = dialect_insert(self.session, CampaignPeriodReach).values(rows)
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
