"""Tiering routes: framework, a client's tiering, Score Now, overrides, history, portfolio, recalculations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from clientpulse.shared.access import require_clients_module, require_executive
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import RecalculationRequested, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, ProblemError, Unprocessable
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Bus, Caller, Db
from clientpulse.tiering.api.schemas import (
    ClientTieringRead,
    DimensionRead,
    FrameworkRead,
    HistoryRead,
    MemberTierRead,
    OverrideCreate,
    OverrideRead,
    PortfolioRead,
    RecalculationCreate,
    RecalculationRead,
    ReceiptRead,
    RevenueBandRead,
    RevenueRead,
    ScoreCreate,
    ScoreRead,
    ScoreResult,
    TierRangeRead,
    TrackRead,
)
from clientpulse.tiering.db.models import ClientScore, RecalculationRun, ScoreReceipt
from clientpulse.tiering.db.repositories import RecalculationRepository, ScoreRepository
from clientpulse.tiering.domain import services
from clientpulse.tiering.domain.framework import FRAMEWORK_VERSION, REVENUE_BANDS, TIER_FLOORS, TRACKS
from clientpulse.tiering.domain.ledger import trailing_revenue, trailing_year_start
from clientpulse.tiering.domain.recalculation import recalculation_event_id, resolve_period
from clientpulse.tiering.domain.revenue import RevenueDesk
from clientpulse.tiering.domain.scoring import override_in_force, score_trend

# The revenue desk (rates + Productive client) the app provides by name.
Desk = NamedDependency[RevenueDesk]


class BusUnavailable(ProblemError):
    """NATS did not take a command; nothing happened and the caller may retry."""

    status = 503
    slug = "bus-unavailable"
    title = "Event bus unavailable"


_BAND_RULES = {
    5: "R > 300,000",
    4: "150,000 ≤ R ≤ 300,000",
    3: "75,000 ≤ R < 150,000",
    2: "30,000 ≤ R < 75,000",
    1: "R < 30,000",
}


def score_read(row: ClientScore, now: datetime) -> ScoreRead:
    """The API view of a client's current score."""
    override = None
    in_force = row.override_tier is not None and override_in_force(row.override_expires_at, now)
    if in_force and row.override_tier is not None and row.override_by is not None and row.override_at is not None:
        override = OverrideRead(
            tier=Tier(row.override_tier),
            reason=row.override_reason or "",
            expires_at=row.override_expires_at,
            set_by=row.override_by,
            set_at=row.override_at,
        )
    return ScoreRead(
        track=row.track,
        ratings=dict(row.ratings),
        money_rating=row.money_rating,
        revenue_minor=row.revenue_base_minor,
        revenue_currency=row.revenue_currency,
        revenue_source=row.revenue_source,
        score=row.score,
        computed_tier=Tier(row.computed_tier),
        # An override past its expiry is shown as ended even before the next write settles it.
        effective_tier=Tier(row.effective_tier)
        if override is not None or row.override_tier is None
        else Tier(row.computed_tier),
        framework_version=row.framework_version,
        ratings_recorded_at=row.ratings_recorded_at,
        ratings_recorded_by=row.ratings_recorded_by,
        stale=services.is_stale(row, now),
        receipt_id=row.receipt_id,
        override=override,
    )


def receipt_read(receipt: ScoreReceipt) -> ReceiptRead:
    """The API view of a receipt."""
    return ReceiptRead(
        id=receipt.id,
        client_id=receipt.client_id,
        kind=receipt.kind,
        track=receipt.track,
        ratings=dict(receipt.ratings),
        money_rating=receipt.money_rating,
        revenue_minor=receipt.revenue_base_minor,
        revenue_currency=receipt.base_currency,
        revenue_source=receipt.revenue_source,
        window_start=receipt.window_start,
        window_end=receipt.window_end,
        weights={key: Decimal(value) for key, value in receipt.weights.items()},
        score=receipt.score,
        computed_tier=Tier(receipt.computed_tier),
        effective_tier=Tier(receipt.effective_tier),
        framework_version=receipt.framework_version,
        override_tier=Tier(receipt.override_tier) if receipt.override_tier else None,
        override_reason=receipt.override_reason,
        override_expires_at=receipt.override_expires_at,
        period=receipt.period,
        actor=receipt.actor,
        recorded_at=receipt.recorded_at,
    )


def run_read(run: RecalculationRun) -> RecalculationRead:
    """The API view of a finished run."""
    return RecalculationRead(
        period=run.period,
        status="completed",
        event_id=run.event_id,
        run_id=run.id,
        requested_by=run.requested_by,
        completed_at=run.completed_at,
        recalculated=run.recalculated,
        changed=run.changed,
        skipped_never_scored=run.skipped_never_scored,
        failed=run.failed,
    )


class FrameworkController(Controller):
    """``/api/v1/tiering/framework``"""

    path = "/api/v1/tiering"
    tags = ["tiering"]

    @get("/framework", summary="The scoring framework in force")
    async def framework(self, identity: Caller, desk: Desk) -> FrameworkRead:
        require_clients_module(identity)
        return FrameworkRead(
            version=FRAMEWORK_VERSION,
            base_currency=desk.rates.base_currency,
            tracks=[
                TrackRead(
                    track=track.value,
                    dimensions=[
                        DimensionRead(
                            key=d.key,
                            label=d.label,
                            weight=d.weight,
                            computed=d.computed,
                            rubric={level: text for level, text in enumerate(d.rubric, start=1)} if d.rubric else None,
                        )
                        for d in dimensions
                    ],
                )
                for track, dimensions in TRACKS.items()
            ],
            revenue_bands=[
                RevenueBandRead(score=score, min_revenue=low, max_revenue=high, rule=_BAND_RULES[score])
                for score, low, high in REVENUE_BANDS
            ],
            tiers=[
                TierRangeRead(tier=tier.value, min_score=None if floor == Decimal("-Infinity") else floor)
                for tier, floor in TIER_FLOORS
            ],
        )


class ClientTieringController(Controller):
    """``/api/v1/clients/{client_id}/tiering``"""

    path = "/api/v1/clients/{client_id:str}/tiering"
    tags = ["tiering"]

    @get("/", summary="A client's tiering: revenue, computed score, effective tier and override")
    async def client_tiering(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ClientTieringRead:
        require_clients_module(identity)
        now = utcnow()
        today = now.date()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            totals = await trailing_revenue(session, client_id, today)
            row = await ScoreRepository(session).current(client_id)
        return ClientTieringRead(
            client_id=client_id,
            window_start=trailing_year_start(today),
            window_end=today,
            trailing_revenue=[
                RevenueRead(currency=t.currency, amount_minor=t.amount_minor, invoices=t.invoices) for t in totals
            ],
            current=score_read(row, now) if row is not None else None,
        )

    @post("/scores", summary="Score Now: rate the human dimensions; revenue is computed", status_code=HTTP_201_CREATED)
    async def score_now(
        self, identity: Caller, db: Db, desk: Desk, client_id: FromPath[str], data: Annotated[ScoreCreate, Body()]
    ) -> ScoreResult:
        require_clients_module(identity)
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await services.score_now(
                session, identity, client_id, track=data.track, ratings=data.ratings, desk=desk, now=now
            )
        return ScoreResult(receipt=receipt_read(receipt), current=score_read(row, now))

    @post(
        "/override", summary="Override the effective tier (reason required, expiry optional)", status_code=HTTP_200_OK
    )
    async def set_override(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: Annotated[OverrideCreate, Body()]
    ) -> ScoreResult:
        require_clients_module(identity)
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await services.set_override(
                session, identity, client_id, tier=data.tier, reason=data.reason, expires_at=data.expires_at, now=now
            )
        return ScoreResult(receipt=receipt_read(receipt), current=score_read(row, now))

    @delete("/override", summary="Clear the override: the computed tier is effective again", status_code=HTTP_200_OK)
    async def clear_override(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ScoreResult:
        require_clients_module(identity)
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await services.clear_override(session, identity, client_id, now=now)
        return ScoreResult(receipt=receipt_read(receipt) if receipt else None, current=score_read(row, now))

    @get("/history", summary="Score history (receipts, newest first) with the trend")
    async def history(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> HistoryRead:
        require_clients_module(identity)
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        before = None
        if position is not None:
            try:
                before = (datetime.fromisoformat(str(position["at"])), str(position["id"]))
            except (KeyError, ValueError):
                raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from None
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            scores = ScoreRepository(session)
            receipts = await scores.history(client_id, limit=size + 1, before=before)
            trend = score_trend(await scores.recent_scores(client_id, 2))
        page, more = receipts[:size], len(receipts) > size
        next_cursor = encode_cursor({"at": page[-1].recorded_at.isoformat(), "id": page[-1].id}) if more else None
        return HistoryRead(trend=trend, items=[receipt_read(r) for r in page], next_cursor=next_cursor)


class PortfolioController(Controller):
    """``/api/v1/groups/{client_id}/portfolio``"""

    path = "/api/v1/groups/{client_id:str}/portfolio"
    tags = ["tiering"]

    @get("/", summary="Portfolio rollup of a group account")
    async def portfolio(self, identity: Caller, db: Db, desk: Desk, client_id: FromPath[str]) -> PortfolioRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            group = await visible_client(session, identity, client_id)
            rolled, members = await services.group_portfolio(session, group, desk=desk, today=utcnow().date())
        return PortfolioRead(
            group_id=client_id,
            track=rolled.track.value if rolled.track else None,
            members=[
                MemberTierRead(
                    client_id=m.client_id,
                    name=m.name,
                    effective_tier=Tier(m.effective_tier) if m.effective_tier else None,
                    revenue_minor=m.revenue_minor,
                )
                for m in members
            ],
            combined_revenue_minor=rolled.combined_revenue_minor,
            revenue_currency=desk.rates.base_currency,
            revenue_band=rolled.band,
            human_ratings={key: value.quantize(Decimal("0.01")) for key, value in rolled.human_ratings.items()},
            score=rolled.score.quantize(Decimal("0.01")) if rolled.score is not None else None,
            tier=rolled.tier,
            tier_distribution=rolled.tier_distribution,
        )


class RecalculationController(Controller):
    """``/api/v1/tiering/recalculations`` (Executive only)"""

    path = "/api/v1/tiering/recalculations"
    tags = ["tiering"]

    @get("/", summary="Recalculation runs, newest period first")
    async def list_runs(
        self,
        identity: Caller,
        db: Db,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[RecalculationRead]:
        require_executive(identity)
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        async with db.transaction() as session:
            runs = await RecalculationRepository(session).newest(
                limit=size + 1, before_period=str(position["period"]) if position and "period" in position else None
            )
        page, more = runs[:size], len(runs) > size
        return Page[RecalculationRead](
            items=[run_read(r) for r in page],
            next_cursor=encode_cursor({"period": page[-1].period}) if more else None,
        )

    @post("/", summary="Recalculate a period now (what the monthly CronJob does)", status_code=HTTP_202_ACCEPTED)
    async def request_run(
        self, identity: Caller, db: Db, bus: Bus, data: Annotated[RecalculationCreate, Body()]
    ) -> RecalculationRead:
        require_executive(identity)
        try:
            resolve_period(data.period, utcnow())
        except ValueError as exc:
            raise Unprocessable(str(exc)) from exc
        async with db.transaction() as session:
            done = await RecalculationRepository(session).by_period(data.period)
        if done is not None:
            raise Conflict(
                f"period {data.period} was already recalculated; re-running it would change nothing",
                extra={"run": run_read(done).model_dump(mode="json")},
            )
        event_id = recalculation_event_id(data.period)
        try:
            await bus.publish_now(
                wrap(
                    RecalculationRequested(period=data.period, requested_by=identity.sub),
                    source="tiering",
                    event_id=event_id,
                )
            )
        except Exception as exc:  # NATS is away: nothing was requested, say so rather than 500
            raise BusUnavailable(f"the request could not be published to NATS ({exc}); try again shortly") from exc
        return RecalculationRead(period=data.period, status="requested", event_id=event_id, requested_by=identity.sub)
