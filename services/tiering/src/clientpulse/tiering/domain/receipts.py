"""Score receipts: the state of a client's score each time it changed, and the TierChanged each
change of effective tier announces with the receipt that explains it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierChanged
from clientpulse.tiering.db.models import ClientScore, ScoreReceipt
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.domain.framework import BUILT_IN
from clientpulse.tiering.domain.outbox import emit
from clientpulse.tiering.domain.scoring import parse_track, weights_of


class ReceiptKind:
    """What produced a receipt."""

    SCORE_NOW = "score_now"
    RECALCULATION = "recalculation"
    OVERRIDE = "override"
    OVERRIDE_CLEARED = "override_cleared"
    EXPIRY = "expiry"


async def weights_for(session: AsyncSession, row: ClientScore) -> dict[str, str]:
    """The weights of the framework version the row was scored by (kept in every version published)."""
    framework = await FrameworkRepository(session).version(row.framework_version) or BUILT_IN
    return framework.weights(parse_track(row.track))


def receipt_of(
    row: ClientScore,
    *,
    kind: str,
    actor: str,
    at: datetime,
    window: tuple[date, date] | None = None,
    weights: dict[str, str] | None = None,
) -> ScoreReceipt:
    """A receipt of the row's state as it is now (``window``: the revenue window it was scored with;
    ``weights``: those of the row's framework version, version 1's when not given)."""
    start, end = window or (None, None)
    return ScoreReceipt(
        id=new_event_id(),
        client_id=row.client_id,
        kind=kind,
        track=row.track,
        ratings=dict(row.ratings),
        money_rating=row.money_rating,
        revenue_base_minor=row.revenue_base_minor,
        base_currency=row.revenue_currency,
        revenue_source=row.revenue_source,
        window_start=start,
        window_end=end,
        weights=weights if weights is not None else weights_of(parse_track(row.track)),
        score=row.score,
        computed_tier=row.computed_tier,
        effective_tier=row.effective_tier,
        framework_version=row.framework_version,
        override_tier=row.override_tier,
        override_reason=row.override_reason,
        override_expires_at=row.override_expires_at,
        period=None,
        actor=actor,
        recorded_at=at,
    )


async def announce_tier_change(
    session: AsyncSession,
    row: ClientScore,
    *,
    old_tier: str | None,
    old_score: Decimal | None,
    cause: TierChangeCause,
    receipt: ScoreReceipt,
    actor: str,
) -> None:
    """Emit TierChanged when the row's effective tier is not ``old_tier`` any more; nothing otherwise."""
    if old_tier == row.effective_tier:
        return
    await emit(
        session,
        TierChanged(
            client_id=row.client_id,
            old_tier=Tier(old_tier) if old_tier else None,
            new_tier=Tier(row.effective_tier),
            old_score=old_score,
            new_score=row.score,
            cause=cause,
            receipt_id=receipt.id,
            changed_by=actor,
        ),
    )
