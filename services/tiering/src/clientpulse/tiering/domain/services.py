"""Use cases of the tiering service, each run inside the caller's unit of work (an HTTP request or an
event handler). They never commit; their events go to the outbox in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import ClientEntry
from clientpulse.shared.contracts import EventData, new_event_id, wrap
from clientpulse.shared.contracts.events import ScoreRecorded, Tier, TierChangeCause, TierChanged
from clientpulse.shared.errors import Conflict, NotFound, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.shared.messaging import record_event
from clientpulse.shared.money import MissingRate, round_minor
from clientpulse.shared.ratings import ratings_are_stale
from clientpulse.tiering.db.models import ClientScore, ScoreReceipt
from clientpulse.tiering.db.repositories import GroupRepository, ScoreRepository
from clientpulse.tiering.domain.framework import FRAMEWORK_VERSION
from clientpulse.tiering.domain.ledger import trailing_year_start
from clientpulse.tiering.domain.portfolio import MemberFacts, Portfolio, rollup
from clientpulse.tiering.domain.revenue import RevenueDesk
from clientpulse.tiering.domain.scoring import (
    InvalidRatings,
    check_ratings,
    compute_score,
    effective_tier,
    override_in_force,
    parse_track,
    weights_of,
)

SOURCE = "tiering"


class ReceiptKind:
    """What produced a receipt."""

    SCORE_NOW = "score_now"
    RECALCULATION = "recalculation"
    OVERRIDE = "override"
    OVERRIDE_CLEARED = "override_cleared"
    EXPIRY = "expiry"


async def _emit(session: AsyncSession, data: EventData) -> None:
    await record_event(session, wrap(data, source=SOURCE))


def _receipt(row: ClientScore, *, kind: str, actor: str, at: datetime, window: tuple | None = None) -> ScoreReceipt:
    """A receipt of the row's state as it is now."""
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
        weights=weights_of(parse_track(row.track)),
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


async def _tier_changed(
    session: AsyncSession,
    row: ClientScore,
    *,
    old_tier: str | None,
    old_score: Decimal | None,
    cause: TierChangeCause,
    receipt: ScoreReceipt,
    actor: str,
) -> None:
    if old_tier == row.effective_tier:
        return
    await _emit(
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


async def settle_expired_override(session: AsyncSession, row: ClientScore, now: datetime) -> None:
    """An override past its expiry ends: the computed tier is effective again (TierChanged: expiry)."""
    if row.override_tier is None or override_in_force(row.override_expires_at, now):
        return
    old_tier, old_score = row.effective_tier, row.score
    row.override_tier = row.override_reason = row.override_expires_at = row.override_by = row.override_at = None
    row.effective_tier = row.computed_tier
    row.updated_at = now
    receipt = _receipt(row, kind=ReceiptKind.EXPIRY, actor="system", at=now)
    ScoreRepository(session).add(receipt)
    await _tier_changed(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.EXPIRY,
        receipt=receipt,
        actor="system",
    )


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
    try:
        chosen = parse_track(track)
        checked = check_ratings(chosen, ratings)
    except InvalidRatings as exc:
        raise Unprocessable(str(exc)) from exc
    revenue = await desk.trailing_revenue(session, client_id, now.date())
    computed = compute_score(chosen, checked, revenue.major)
    scores = ScoreRepository(session)
    row = await scores.current(client_id, for_update=True)
    old_tier: str | None = None
    old_score: Decimal | None = None
    first_score = row is None
    if row is None:
        row = ClientScore(client_id=client_id, override_tier=None, override_expires_at=None, stale_flagged_at=None)
    else:
        await settle_expired_override(session, row, now)
        old_tier, old_score = row.effective_tier, row.score
    row.track = chosen.value
    row.ratings = checked
    row.ratings_recorded_at = now
    row.ratings_recorded_by = identity.sub
    row.human_points = computed.human_points
    row.money_weight = computed.money_weight
    row.revenue_base_minor = revenue.base_minor
    row.revenue_currency = revenue.base_currency
    row.revenue_source = revenue.source.value
    row.money_rating = computed.money_rating
    row.score = computed.score
    row.computed_tier = computed.tier.value
    row.framework_version = FRAMEWORK_VERSION
    row.effective_tier = effective_tier(
        computed.tier, Tier(row.override_tier) if row.override_tier else None, row.override_expires_at, now
    ).value
    row.updated_at = now
    row.stale_flagged_at = None
    receipt = _receipt(
        row, kind=ReceiptKind.SCORE_NOW, actor=identity.sub, at=now, window=(revenue.window_start, revenue.window_end)
    )
    row.receipt_id = receipt.id
    if first_score:
        scores.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:  # two first scores of one client at once: the other one won
            raise Conflict(f"client {client_id} was being scored by someone else at the same moment; retry") from exc
    scores.add(receipt)
    await _emit(
        session,
        ScoreRecorded(
            client_id=client_id,
            receipt_id=receipt.id,
            track=row.track,
            score=row.score,
            computed_tier=Tier(row.computed_tier),
            effective_tier=Tier(row.effective_tier),
            framework_version=row.framework_version,
            ratings_recorded_at=now,
            stale=False,
            recorded_by=identity.sub,
        ),
    )
    await _tier_changed(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.SCORE_NOW,
        receipt=receipt,
        actor=identity.sub,
    )
    return row, receipt


async def _scored(session: AsyncSession, client_id: str) -> ClientScore:
    row = await ScoreRepository(session).current(client_id, for_update=True)
    if row is None:
        raise Conflict(f"client {client_id} has no score yet; score it (Score Now) before overriding its tier")
    return row


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
    if not reason.strip():
        raise Unprocessable("reason must not be empty: say why the tier is overridden")
    if expires_at is not None and expires_at <= now:
        raise Unprocessable("expires_at must be in the future")
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
    receipt = _receipt(row, kind=ReceiptKind.OVERRIDE, actor=identity.sub, at=now)
    row.receipt_id = receipt.id
    ScoreRepository(session).add(receipt)
    await _tier_changed(
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
    old_tier, old_score = row.effective_tier, row.score
    row.override_tier = row.override_reason = row.override_expires_at = row.override_by = row.override_at = None
    row.effective_tier = row.computed_tier
    row.updated_at = now
    receipt = _receipt(row, kind=ReceiptKind.OVERRIDE_CLEARED, actor=identity.sub, at=now)
    row.receipt_id = receipt.id
    ScoreRepository(session).add(receipt)
    await _tier_changed(
        session,
        row,
        old_tier=old_tier,
        old_score=old_score,
        cause=TierChangeCause.OVERRIDE,
        receipt=receipt,
        actor=identity.sub,
    )
    return row, receipt


def is_stale(row: ClientScore, now: datetime) -> bool:
    """Whether the row's human ratings are older than 90 days."""
    return ratings_are_stale(row.ratings_recorded_at, now)


async def group_portfolio(
    session: AsyncSession, group: ClientEntry, *, desk: RevenueDesk, today: date
) -> tuple[Portfolio, list[MemberFacts]]:
    """Gather a group's members (the parent included) and roll them up; 404 when it has no members."""
    groups = GroupRepository(session)
    members = await groups.members(group.client_id)
    if not members:
        raise NotFound(f"client {group.client_id} is not a group account (it has no members)")
    everyone = [(group.client_id, group.name), *members]
    ids = [client_id for client_id, _ in everyone]
    start = trailing_year_start(today)
    revenue: dict[str, Decimal] = {}
    try:
        for client_id, currency, day, amount in await groups.daily_totals(ids, start, today):
            revenue[client_id] = revenue.get(client_id, Decimal(0)) + desk.rates.to_base_minor(amount, currency, day)
    except MissingRate as exc:
        raise Unprocessable(f"{exc}; add it to CLIENTPULSE_TIERING_EXCHANGE_RATES") from exc
    scores = {row.client_id: row for row in await ScoreRepository(session).of_clients(ids)}
    facts = []
    for client_id, name in everyone:
        row = scores.get(client_id)
        if client_id in revenue:
            amount = round_minor(revenue[client_id])
        else:  # nothing in the ledger: what the client was last scored with (e.g. Productive)
            amount = row.revenue_base_minor if row is not None else 0
        facts.append(
            MemberFacts(
                client_id=client_id,
                name=name,
                revenue_minor=amount,
                track=row.track if row else None,
                ratings=dict(row.ratings) if row else None,
                effective_tier=row.effective_tier if row else None,
            )
        )
    parent = scores.get(group.client_id)
    return rollup(facts, parent.track if parent else None, desk.rates.base_currency), facts
