"""The ad table: each ad's copy with its sums over a range, ratios derived from the sums."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.repositories.ad_days import AdDayRepository
from clientpulse.results_ingest.domain.aggregation import cpa_minor, ctr, roas
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE


@dataclass(frozen=True, slots=True)
class AdLine:
    """One ad over a range: its copy (untrusted text), sums and ratios of sums."""

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
    conversions: Decimal
    revenue_minor: int
    roas: Decimal | None
    cpa_minor: Decimal | None
    ctr: Decimal | None
    days_delivered: int


async def ad_table(session: AsyncSession, client_id: str, window: DateRange) -> list[AdLine]:
    """Every ad of the client that delivered in the window, the biggest spender first."""
    ads = await AdDayRepository(session).ad_window(client_id, window.start, window.end)
    lines = []
    for a in ads:
        conversions = Decimal(a.conversions_e4) / CONVERSION_SCALE
        lines.append(
            AdLine(
                connection_id=a.connection_id,
                platform=a.platform,
                campaign_id=a.campaign_id,
                ad_id=a.ad_id,
                ad_name=a.ad_name,
                headlines=a.headlines,
                bodies=a.bodies,
                currency=a.currency,
                spend_minor=a.spend_minor,
                impressions=a.impressions,
                clicks=a.clicks,
                conversions=conversions,
                revenue_minor=a.conversion_value_minor,
                roas=roas(a.conversion_value_minor, a.spend_minor),
                cpa_minor=cpa_minor(a.spend_minor, conversions),
                ctr=ctr(a.clicks, a.impressions),
                days_delivered=a.days,
            )
        )
    lines.sort(key=lambda line: (-line.spend_minor, line.platform, line.ad_id))
    return lines
