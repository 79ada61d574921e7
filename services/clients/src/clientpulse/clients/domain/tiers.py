"""The tier facts a client carries, replicated from tiering's events: effective tier, score, when the
human ratings were last recorded, and the 30 days a client entering Review has to be acted on
(docs/domain-rules.md, "Tier scoring").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from clientpulse.clients.db.models import Client
from clientpulse.clients.domain.check_ins import refresh_check_in_due
from clientpulse.clients.domain.qbrs import refresh_qbr_due
from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.ratings import ratings_are_stale

REVIEW_ACTION_DAYS = 30


def review_action_due(entered_review_on: date) -> date:
    """A client entering Review must be acted on (reprice, exit or improve) within 30 days."""
    return entered_review_on + timedelta(days=REVIEW_ACTION_DAYS)


def is_stale(ratings_recorded_at: datetime | None, now: datetime) -> bool:
    """Human ratings older than 90 days are stale; a client never rated is not flagged (the shared rule)."""
    return ratings_are_stale(ratings_recorded_at, now)


def apply_tier(client: Client, tier: Tier, at: datetime) -> bool:
    """Take a tier from tiering unless a newer event already set one; entering Review starts its 30 days,
    entering Platinum its monthly check-ins."""
    if client.tier_at is not None and client.tier_at > at:
        return False
    previous = Tier(client.tier) if client.tier else None
    client.tier, client.tier_at = tier.value, at
    if tier is Tier.REVIEW and previous is not Tier.REVIEW:
        client.review_action_due_on = review_action_due(at.date())
    elif tier is not Tier.REVIEW:
        client.review_action_due_on = None
    if tier is Tier.PLATINUM and previous is not Tier.PLATINUM:
        client.platinum_since = at.date()
    elif tier is not Tier.PLATINUM:
        client.platinum_since = None
    refresh_qbr_due(client)
    refresh_check_in_due(client)
    return True


def apply_score(client: Client, score: Decimal, ratings_recorded_at: datetime | None, at: datetime) -> bool:
    """Take the latest score (and ratings time, when the event carries it) unless a newer event already did.

    ScoreRecorded carries both; a TierChanged from a recalculation carries only the new score.
    """
    if client.score_at is not None and client.score_at > at:
        return False
    client.tier_score, client.score_at = score, at
    if ratings_recorded_at is not None:
        client.ratings_recorded_at = ratings_recorded_at
    return True
