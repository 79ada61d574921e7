"""The ad table: ads with their copy (headlines, primary texts) and their numbers over a range."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from litestar import get
from litestar.params import FromPath, FromQuery
from pydantic import BaseModel, Field

from clientpulse.results_ingest.api.results import MAX_RANGE_DAYS
from clientpulse.results_ingest.domain.creatives import ad_table
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class AdRead(BaseModel):
    """One ad over the range; ratios from the range's sums, money in minor units of ``currency``."""

    connection_id: str
    platform: str
    campaign_id: str
    ad_id: str
    ad_name: str | None
    headlines: list[str] = Field(description="the ad's headline(s) as the platform holds them (text written by people)")
    bodies: list[str] = Field(description="the ad's primary text(s) (text written by people)")
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    revenue_minor: int
    roas: Decimal | None
    cpa_minor: Decimal | None
    ctr: Decimal | None
    days_delivered: int = Field(description="days of the range the ad delivered on")


class AdTable(BaseModel):
    """A client's ads with their copy over a range, the biggest spender first."""

    client_id: str
    start: date
    end: date
    items: list[AdRead]


class CreativeController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/results/creatives``"""

    path = "/api/v1/clients/{client_id:str}/results"
    tags = ["results"]

    @get("/creatives", summary="Ads with their copy and their numbers over a range")
    async def creatives(
        self, identity: Caller, db: Db, client_id: FromPath[str], start: FromQuery[date], end: FromQuery[date]
    ) -> AdTable:
        if end < start:
            raise Unprocessable("end is before start")
        window = DateRange(start, end)
        if window.days > MAX_RANGE_DAYS:
            raise Unprocessable(f"a range covers at most {MAX_RANGE_DAYS} days")
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            lines = await ad_table(session, client_id, window)
        return AdTable(
            client_id=client_id,
            start=window.start,
            end=window.end,
            items=[AdRead.model_validate(line, from_attributes=True) for line in lines],
        )
