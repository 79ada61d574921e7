"""Closing a Review client's 30-day action with a decision."""

from __future__ import annotations

from litestar import post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.schemas.check_ins import ReviewDecisionCreate, ReviewDecisionRead
from clientpulse.clients.domain.clients import visible_client
from clientpulse.clients.domain.review import record_review_decision
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db


class ReviewDecisionController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/tiering/review-decision`` (served here: the Review action lives with the
    client profile)."""

    path = "/api/v1/clients/{client_id:str}/tiering/review-decision"
    tags = ["clients"]

    @post(
        "/",
        summary="Close a Review client's 30-day action with a decision",
        description="The decision (reprice, exit or improve) and its reason; the Review due date clears and the "
        "decision joins the history. 409 when the client is not in Review or its action was already decided.",
        status_code=HTTP_201_CREATED,
    )
    async def decide(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[ReviewDecisionCreate]
    ) -> ReviewDecisionRead:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            await record_review_decision(session, identity, client, data.decision, data.reason)
            assert client.review_decided_at is not None
            return ReviewDecisionRead(
                client_id=client.id,
                decision=data.decision,
                reason=client.review_decision_reason or data.reason,
                decided_by=identity.sub,
                decided_at=client.review_decided_at,
            )
