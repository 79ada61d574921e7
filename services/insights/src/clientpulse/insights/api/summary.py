"""A client's relationship summary: the newest written, or one written now when there is none yet."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath

from clientpulse.insights.api.deps import Wiring
from clientpulse.insights.db.repositories.summaries import SummaryRepository
from clientpulse.insights.domain.summaries import store_summary, with_latest_analysis
from clientpulse.insights.domain.summary import RelationshipSummary
from clientpulse.insights.relationship_api import RecordsUnavailable
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import ProblemError
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class RecordsNotReadable(ProblemError):
    """The services holding the records did not answer."""

    status = 503
    slug = "records-unavailable"
    title = "Relationship records unavailable"


class SummaryRead(RelationshipSummary):
    """A stored relationship summary: each statement cites the records it rests on by ``kind`` and ``id``."""

    id: str


class SummaryController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/insights/summary``"""

    path = "/api/v1/clients/{client_id:str}/insights"
    tags = ["insights"]

    @get(
        "/summary",
        summary="A client's relationship summary, each statement citing its records",
        description="The newest summary (rewritten after significant events). With none yet, one is written now "
        "from the records the caller may see. `deterministic` marks a templated summary (no model, or its reply "
        "refused: `fallback_reason`).",
    )
    async def relationship_summary(
        self, identity: Caller, db: Db, wiring: Wiring, client_id: FromPath[str]
    ) -> SummaryRead:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            stored = await SummaryRepository(session).latest(client_id)
            if stored is not None:
                return SummaryRead(id=stored.id, **stored.body)
        try:
            records = await wiring.relationship.records(client_id, identity)
        except RecordsUnavailable as exc:
            raise RecordsNotReadable(str(exc)) from exc
        now = utcnow()
        async with db.transaction() as session:
            records = await with_latest_analysis(session, records)
        # The model (if any) is asked outside a transaction: no connection is held while it thinks.
        summary = await wiring.summaries.write(records, as_of=now, today=now.date(), triggers=["first_read"])
        async with db.transaction() as session:
            summary_id = await store_summary(session, summary, now)
        return SummaryRead(id=summary_id, **summary.model_dump())
