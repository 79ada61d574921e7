"""The ``ad_daily`` table: one row per ad and day, with the ad's copy as the platform last gave it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import AdDaily
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.records import AdCreativeDay
from clientpulse.shared.db import utcnow

# Copy and names are text written by people: kept whole up to these lengths.
TEXT_MAX = 2000
TEXTS_MAX = 20


@dataclass(frozen=True, slots=True)
class AdWindow:
    """One ad's sums over a window, with its copy as of its latest day in it."""

    connection_id: str
    platform: str
    campaign_id: str
    ad_id: str
    ad_name: str | None
    headlines: list[str]
    bodies: list[str]
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int
    days: int


def _row(account: StoredAccount, d: AdCreativeDay, final_before: date | None, now: Any) -> dict[str, Any]:
    return {
        "connection_id": account.connection_id,
        "ad_id": d.ad_id,
        "day": d.day,
        "client_id": account.client_id,
        "platform": account.platform,
        "campaign_id": d.campaign_id,
        "ad_name": d.ad_name[:500] if d.ad_name else None,
        "headlines": [h[:TEXT_MAX] for h in d.headlines[:TEXTS_MAX]],
        "bodies": [b[:TEXT_MAX] for b in d.bodies[:TEXTS_MAX]],
        "currency": d.currency,
        "time_zone": account.time_zone,
        "spend_minor": d.spend_minor,
        "impressions": d.impressions,
        "clicks": d.clicks,
        "conversions_e4": d.conversions_e4,
        "conversion_value_minor": d.conversion_value_minor,
        "is_final": final_before is not None and d.day < final_before,
        "fetched_at": now,
    }


def _ad_window(r: Any) -> AdWindow:
    """A row of (connection, platform, campaign, ad, name, headlines, bodies, currency, six sums) as an AdWindow."""
    spend, impressions, clicks, conversions, value, days = (int(v) for v in r[8:14])
    return AdWindow(
        r[0], r[1], r[2], r[3], r[4], list(r[5] or []), list(r[6] or []), r[7],
        spend, impressions, clicks, conversions, value, days,
    )  # fmt: skip


class AdDayRepository:
    """Per-day ad snapshots: idempotent upserts and each ad's sums over a window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, account: StoredAccount, days: Sequence[AdCreativeDay], *, final_before: date | None) -> int:
        """Insert or replace each (connection, ad, day) row; a re-read never adds a second copy."""
        now = utcnow()
        rows = [_row(account, d, final_before, now) for d in days]
        if not rows:
            return 0
        statement = dialect_insert(self.session, AdDaily)
        keep = {"connection_id", "ad_id", "day", "client_id", "platform"}
        updates = {c.name: statement.excluded[c.name] for c in AdDaily.__table__.columns if c.name not in keep}
        upsert = statement.on_conflict_do_update(index_elements=["connection_id", "ad_id", "day"], set_=updates)
        await self.session.execute(upsert, rows)
        return len(rows)

    async def mark_final(self, connection_id: str, before: date) -> None:
        """Days before ``before`` will not be re-read again: they are final."""
        await self.session.execute(
            update(AdDaily)
            .where(AdDaily.connection_id == connection_id, AdDaily.day < before, AdDaily.is_final.is_(False))
            .values(is_final=True)
        )

    async def ad_window(self, client_id: str, start: date, end: date) -> list[AdWindow]:
        """Each ad's sums over [start, end] (one query), joined to its latest row in the window for its copy."""
        sums = (
            select(
                AdDaily.connection_id,
                AdDaily.ad_id,
                func.sum(AdDaily.spend_minor).label("spend_minor"),
                func.sum(AdDaily.impressions).label("impressions"),
                func.sum(AdDaily.clicks).label("clicks"),
                func.sum(AdDaily.conversions_e4).label("conversions_e4"),
                func.sum(AdDaily.conversion_value_minor).label("conversion_value_minor"),
                func.count().label("days"),
                func.max(AdDaily.day).label("latest_day"),
            )
            .where(AdDaily.client_id == client_id, AdDaily.day >= start, AdDaily.day <= end)
            .group_by(AdDaily.connection_id, AdDaily.ad_id)
            .subquery("sums")
        )
        latest = AdDaily.__table__.alias("latest")
        query = select(
            sums.c.connection_id, latest.c.platform, latest.c.campaign_id, sums.c.ad_id, latest.c.ad_name,
            latest.c.headlines, latest.c.bodies, latest.c.currency, sums.c.spend_minor, sums.c.impressions,
            sums.c.clicks, sums.c.conversions_e4, sums.c.conversion_value_minor, sums.c.days,
        ).join(
            latest,
            and_(
                latest.c.connection_id == sums.c.connection_id,
                latest.c.ad_id == sums.c.ad_id,
                latest.c.day == sums.c.latest_day,
            ),
        )  # fmt: skip
        rows = (await self.session.execute(query)).all()
        return [_ad_window(r) for r in rows]
