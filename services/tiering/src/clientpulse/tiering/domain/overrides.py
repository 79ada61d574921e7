"""Tier overrides: the effective tier set by hand, with a reason and an optional expiry, beside the
computed score (docs/domain-rules.md, "Tier scoring"). Each change keeps a receipt, announces itself
(TierOverrideSet, TierOverrideCleared) and, when the effective tier moves, emits TierChanged; nothing
here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts.events import Tier, TierChangeCause, TierOverrideCleared, TierOverrideSet
from clientpulse.shared.errors import Conflict, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.tiering.db.models import ClientScore, ScoreReceipt
from clientpulse.tiering.db.repositories.scores import ScoreRepository
from clientpulse.tiering.domain.outbox import emit
from clientpulse.tiering.domain.receipts import ReceiptKind, announce_tier_change, receipt_of, weights_for
from clientpulse.tiering.domain.scoring import override_in_force

# Who ends an override that reached its expiry.
EXPIRY_ACTOR = "system"


def _end_override(row: ClientScore, now: datetime) -> None:
    """Drop the override: the computed tier is effective again."""
    row.override_tier = row.override_reason = row.override_expires_at = row.override_by = row.override_at = None
    row.effective_tier = row.computed_tier
    row.updated_at = now


async def settle_expired_override(session: AsyncSession, row: ClientScore, now: datetime) -> None:
    """An override past its expiry ends: the computed tier is effective again (TierChanged: expiry)."""
    if row.override_tier is None or override_in_force(row.override_expires_at, now):
        return
    old_tier, old_score, overridden = row.effective_tier, row.score, row.override_tier
    _end_override(row, now)
    await _announce_cleared(session, row, overridden, actor=EXPIRY_ACTOR, expired=True)
    receipt = receipt_of(
        row, kind=ReceiptKind.EXPIRY, actor=EXPIRY_ACTOR, at=now, weights=await weights_for(session, row)
    )
    ScoreRepository(session).add(receipt)
    await announce_tier_change(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.EXPIRY,
        receipt=receipt,
        actor=EXPIRY_ACTOR,
    )


async def _scored(session: AsyncSession, client_id: str) -> ClientScore:
    row = await ScoreRepository(session).current(client_id, for_update=True)
    if row is None:
        raise Conflict(f"client {client_id} has no score yet; score it (Score Now) before overriding its tier")
    return row


def _check_override(reason: str, expires_at: datetime | None, now: datetime) -> None:
    if not reason.strip():
        raise Unprocessable("reason must not be empty: say why the tier is overridden")
    if expires_at is not None and expires_at <= now:
        raise Unprocessable("expires_at must be in the future")


async def set_override(
    session: AsyncSession,
    identity: Identity,
    client_id: str,
    *,
    tier: Tier,
    reason: str,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[ClientScore, ScoreReceipt]:
    """Set the effective tier by hand, with a reason and an optional expiry; the computed score stays beside it."""
    _check_override(reason, expires_at, now)
    row = await _scored(session, client_id)
    await settle_expired_override(session, row, now)
    old_tier, old_score = row.effective_tier, row.score
    row.override_tier = tier.value
    row.override_reason = reason.strip()
    row.override_expires_at = expires_at
    row.override_by = identity.sub
    row.override_at = now
    row.effective_tier = tier.value
    row.updated_at = now
    receipt = await _keep_receipt(session, row, kind=ReceiptKind.OVERRIDE, actor=identity.sub, now=now)
    await emit(
        session,
        TierOverrideSet(
            client_id=client_id,
            tier=tier,
            reason=row.override_reason,
            expires_at=expires_at,
            effective_tier=Tier(row.effective_tier),
            computed_tier=Tier(row.computed_tier) if row.computed_tier else None,
            set_by=identity.sub,
        ),
    )
    await announce_tier_change(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.OVERRIDE,
        receipt=receipt,
        actor=identity.sub,
    )
    return row, receipt


async def clear_override(
    session: AsyncSession, identity: Identity, client_id: str, *, now: datetime
) -> tuple[ClientScore, ScoreReceipt | None]:
    """End an override: the computed tier is effective again. Clearing when none is set changes nothing."""
    row = await _scored(session, client_id)
    await settle_expired_override(session, row, now)
    if row.override_tier is None:
        return row, None
    old_tier, old_score, overridden = row.effective_tier, row.score, row.override_tier
    _end_override(row, now)
    receipt = await _keep_receipt(session, row, kind=ReceiptKind.OVERRIDE_CLEARED, actor=identity.sub, now=now)
    await _announce_cleared(session, row, overridden, actor=identity.sub, expired=False)
    await announce_tier_change(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.OVERRIDE,
        receipt=receipt,
        actor=identity.sub,
    )
    return row, receipt


async def _announce_cleared(
    session: AsyncSession, row: ClientScore, overridden: str, *, actor: str, expired: bool
) -> None:
    """Announce that an override ended, whether or not the effective tier moved."""
    await emit(
        session,
        TierOverrideCleared(
            client_id=row.client_id,
            tier=Tier(overridden),
            effective_tier=Tier(row.effective_tier),
            expired=expired,
            cleared_by=actor,
        ),
    )


async def _keep_receipt(
    session: AsyncSession, row: ClientScore, *, kind: str, actor: str, now: datetime
) -> ScoreReceipt:
    """A receipt of the row as it is now, which becomes the row's current receipt."""
    receipt = receipt_of(row, kind=kind, actor=actor, at=now, weights=await weights_for(session, row))
    row.receipt_id = receipt.id
    ScoreRepository(session).add(receipt)
    return receipt
