"""A client's creative insights: observations and suggestions on its ad copy, tied to the ads' numbers."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import get
from litestar.params import FromPath, FromQuery
from pydantic import ValidationError

from clientpulse.insights.api.deps import Wiring
from clientpulse.insights.domain.ad_copy import AdResult
from clientpulse.insights.domain.ad_copy_review import CreativeInsights
from clientpulse.insights.results_api import ResultsUnavailable
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import ProblemError, Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.identity import Identity
from clientpulse.shared.service import Caller, Db

DEFAULT_DAYS = 28
MAX_DAYS = 92


class AdsNotReadable(ProblemError):
    """Results-ingest did not give the client's ads."""

    status = 503
    slug = "results-unavailable"
    title = "Ad results unavailable"


def analysed_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, or the last 28 complete days; at least 2 days (two halves), at most 92."""
    if (start is None) != (end is None):
        raise Unprocessable("give both start and end (YYYY-MM-DD), or neither for the last 28 days")
    if start is None or end is None:
        end = today - timedelta(days=1)
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise Unprocessable("end is before start")
    days = (end - start).days + 1
    if days < 2 or days > MAX_DAYS:
        raise Unprocessable(f"a period covers 2 to {MAX_DAYS} days (it is compared half against half)")
    return start, end


async def _ads(wiring: Wiring, client_id: str, start: date, end: date, identity: Identity) -> list[AdResult]:
    """The client's ad table over [start, end], read as the caller."""
    path = f"/api/v1/clients/{client_id}/results/creatives"
    try:
        body = await wiring.results.read(path, {"start": start.isoformat(), "end": end.isoformat()}, identity)
        return [AdResult.model_validate(item) for item in body.get("items", [])]
    except (ResultsUnavailable, ValidationError) as exc:
        raise AdsNotReadable(f"the ads of client {client_id} could not be read: {exc}") from exc


class CreativeInsightsController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/insights/creatives``"""

    path = "/api/v1/clients/{client_id:str}/insights"
    tags = ["insights"]

    @get(
        "/creatives",
        summary="Creative insights: observations and suggestions on the ad copy, tied to the ads' numbers",
        description="The client's ads over the period (default: the last 28 complete days) with their copy and "
        "numbers, the facts found in them (best and weakest ads by ROAS and CTR among ads with enough spend, "
        "short against long primary texts, headline words the best ads share, fatigue: a CTR falling from the "
        "first half of the period to the second), and observations and suggestions citing ad and fact ids. "
        "`deterministic` marks insights written without a model (none configured, or its reply refused: "
        "`fallback_reason`).",
    )
    async def creative_insights(
        self,
        identity: Caller,
        db: Db,
        wiring: Wiring,
        client_id: FromPath[str],
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
    ) -> CreativeInsights:
        start, end = analysed_period(start, end, utcnow().date())
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
        middle = start + timedelta(days=((end - start).days + 1) // 2 - 1)
        first = await _ads(wiring, client_id, start, middle, identity)
        second = await _ads(wiring, client_id, middle + timedelta(days=1), end, identity)
        return await wiring.creatives.review(client_id, start, end, first, second)
