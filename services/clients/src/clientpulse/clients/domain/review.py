"""Closing a Review client's 30-day action with a decision (docs/domain-rules.md, "Tier service approach")."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client
from clientpulse.clients.domain.history import emit
from clientpulse.shared.contracts.events import ReviewDecision, ReviewDecisionRecorded, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, Unprocessable
from clientpulse.shared.identity import Identity


async def record_review_decision(
    session: AsyncSession, identity: Identity, client: Client, decision: ReviewDecision, reason: str
) -> Client:
    """Close the client's open Review action with a decision (reprice, exit or improve) and its reason.

    Only a client in Review with its 30-day action still open has one to close (409 otherwise).
    """
    if not reason.strip():
        raise Unprocessable("reason must not be empty: say why this was decided")
    if client.tier != Tier.REVIEW.value or client.review_action_due_on is None:
        state = f"in {client.tier}" if client.tier and client.tier != Tier.REVIEW.value else "without an open action"
        raise Conflict(f"client {client.id} has no open Review action to decide (it is {state})")
    due_on = client.review_action_due_on
    client.review_decision, client.review_decision_reason = decision.value, reason.strip()
    client.review_decided_at, client.review_decided_by = utcnow(), identity.sub
    client.review_action_due_on = None
    await emit(
        session,
        ReviewDecisionRecorded(
            client_id=client.id,
            decision=decision,
            reason=client.review_decision_reason,
            action_due_on=due_on,
            decided_by=identity.sub,
        ),
        line=f"Review decision: {decision.value} ({client.review_decision_reason})",
        actor=identity.sub,
    )
    return client
