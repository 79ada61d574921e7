"""A client's score (the ``client_scores`` row): Score Now from submitted human ratings and the
trailing revenue, and whether its ratings are stale (docs/domain-rules.md, "Tier scoring"). Run
inside the caller's unit of work; nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts.events import ScoreRecorded, Tier, TierChangeCause
from clientpulse.shared.errors import Conflict, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.shared.ratings import ratings_are_stale
from clientpulse.tiering.db.models import ClientScore, ScoreReceipt
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.db.repositories.scores import ScoreRepository
from clientpulse.tiering.domain.framework import Track
from clientpulse.tiering.domain.outbox import emit
from clientpulse.tiering.domain.overrides import settle_expired_override
from clientpulse.tiering.domain.portfolio_tiers import refresh_groups_above
from clientpulse.tiering.domain.receipts import ReceiptKind, announce_tier_change, receipt_of
from clientpulse.tiering.domain.revenue import Revenue, RevenueDesk
from clientpulse.tiering.domain.scoring import (
    ComputedScore,
    InvalidRatings,
    check_ratings,
    compute_score,
    effective_tier,
    parse_track,
)


def is_stale(row: ClientScore, now: datetime) -> bool:
    """Whether the row's human ratings are older than ``clientpulse.shared.ratings.STALE_AFTER``."""
    return ratings_are_stale(row.ratings_recorded_at, now)


async def score_now(
    session: AsyncSession,
    identity: Identity,
    client_id: str,
    *,
    track: str,
    ratings: dict[str, int],
    desk: RevenueDesk,
    now: datetime,
) -> tuple[ClientScore, ScoreReceipt]:
    """Score a client from submitted human ratings and its revenue; keep the receipt, publish the score."""
    chosen, checked = _checked_submission(track, ratings)
    revenue = await desk.trailing_revenue(session, client_id, now.date())
    framework = await FrameworkRepository(session).in_force()
    computed = compute_score(chosen, checked, revenue.major, framework)
    scores = ScoreRepository(session)
    existing = await scores.current(client_id, for_update=True)
    row = existing if existing is not None else _first_score_row(client_id)
    old_tier, old_score = await _settled_before(session, existing, now)
    _record_score(row, computed, revenue, rated_by=identity.sub, now=now)
    row.framework_version = framework.version
    receipt = receipt_of(
        row,
        kind=ReceiptKind.SCORE_NOW,
        actor=identity.sub,
        at=now,
        window=(revenue.window_start, revenue.window_end),
        weights=framework.weights(chosen),
    )
    row.receipt_id = receipt.id
    if existing is None:
        await _insert_first_score(session, scores, row)
    scores.add(receipt)
    await emit(session, _score_recorded(row, receipt, recorded_by=identity.sub, now=now))
    await announce_tier_change(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.SCORE_NOW,
        receipt=receipt,
        actor=identity.sub,
    )
    await refresh_groups_above(session, desk, client_id, now=now, actor=identity.sub)
    return row, receipt


def _first_score_row(client_id: str) -> ClientScore:
    """The row of a client scored for the first time (no override, never flagged stale)."""
    return ClientScore(client_id=client_id, override_tier=None, override_expires_at=None, stale_flagged_at=None)


async def _settled_before(
    session: AsyncSession, existing: ClientScore | None, now: datetime
) -> tuple[str | None, Decimal | None]:
    """The effective tier and score a client had before this score (an expired override settled first);
    none for a first score."""
    if existing is None:
        return None, None
    await settle_expired_override(session, existing, now)
    return existing.effective_tier, existing.score


def _checked_submission(track: str, ratings: dict[str, int]) -> tuple[Track, dict[str, int]]:
    """The track and the checked human ratings, or 422 saying what is wrong."""
    try:
        chosen = parse_track(track)
        return chosen, check_ratings(chosen, ratings)
    except InvalidRatings as exc:
        raise Unprocessable(str(exc)) from exc


def _record_score(row: ClientScore, computed: ComputedScore, revenue: Revenue, *, rated_by: str, now: datetime) -> None:
    """Write a fresh score into the row; an override in force stays the effective tier."""
    row.track = computed.track.value
    row.ratings = computed.ratings
    row.ratings_recorded_at = now
    row.ratings_recorded_by = rated_by
    row.human_points = computed.human_points
    row.money_weight = computed.money_weight
    row.revenue_base_minor = revenue.base_minor
    row.revenue_currency = revenue.base_currency
    row.revenue_source = revenue.source.value
    row.money_rating = computed.money_rating
    row.score = computed.score
    row.computed_tier = computed.tier.value
    override = Tier(row.override_tier) if row.override_tier else None
    row.effective_tier = effective_tier(computed.tier, override, row.override_expires_at, now).value
    row.updated_at = now
    row.stale_flagged_at = None


async def _insert_first_score(session: AsyncSession, scores: ScoreRepository, row: ClientScore) -> None:
    """Insert a client's first score; 409 when another first score of the same client won the race."""
    scores.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"client {row.client_id} was being scored by someone else at the same moment; retry") from exc


def _score_recorded(row: ClientScore, receipt: ScoreReceipt, *, recorded_by: str, now: datetime) -> ScoreRecorded:
    """The ScoreRecorded of fresh ratings (never stale: they were just recorded)."""
    return ScoreRecorded(
        client_id=row.client_id,
        receipt_id=receipt.id,
        track=row.track,
        score=row.score,
        computed_tier=Tier(row.computed_tier),
        effective_tier=Tier(row.effective_tier),
        framework_version=row.framework_version,
        ratings_recorded_at=now,
        stale=False,
        recorded_by=recorded_by,
    )
