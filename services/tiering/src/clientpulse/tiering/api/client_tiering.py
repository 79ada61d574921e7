"""``/api/v1/clients/{client_id}/tiering``: a client's tiering (revenue, computed score, effective tier
and override), Score Now, overrides and the score history with its receipts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from litestar import delete, get, post, put
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.contracts.events import Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Caller, Db
from clientpulse.tiering.api.dependencies import Desk
from clientpulse.tiering.api.schemas.overrides import OverrideCreate, OverrideRead
from clientpulse.tiering.api.schemas.productive_links import ProductiveLinkRead, ProductiveLinkWrite
from clientpulse.tiering.api.schemas.receipts import HistoryRead, ReceiptRead
from clientpulse.tiering.api.schemas.scores import ClientTieringRead, RevenueRead, ScoreCreate, ScoreRead, ScoreResult
from clientpulse.tiering.db.models import ClientScore, ProductiveLink, ScoreReceipt
from clientpulse.tiering.db.repositories.productive_links import ProductiveLinkRepository
from clientpulse.tiering.db.repositories.scores import ScoreRepository
from clientpulse.tiering.domain import overrides, scores
from clientpulse.tiering.domain.ledger import trailing_revenue, trailing_year_start
from clientpulse.tiering.domain.productive_links import link_client, unlink_client
from clientpulse.tiering.domain.scoring import override_in_force, score_trend


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
        stale=scores.is_stale(row, now),
        receipt_id=row.receipt_id,
        override=override,
    )


def link_read(client_id: str, link: ProductiveLink | None) -> ProductiveLinkRead:
    """The API view of a client's Productive link (an unlinked client names no company)."""
    if link is None:
        return ProductiveLinkRead(client_id=client_id, company_id=None)
    return ProductiveLinkRead(
        client_id=client_id,
        company_id=link.company_id,
        linked_by=link.linked_by,
        linked_at=link.linked_at,
        revenue_minor=link.revenue_base_minor,
        revenue_invoices=link.revenue_invoices,
        revenue_window_end=link.revenue_window_end,
        revenue_fetched_at=link.revenue_fetched_at,
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


class ClientTieringController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/tiering``"""

    path = "/api/v1/clients/{client_id:str}/tiering"
    tags = ["tiering"]

    @get("/", summary="A client's tiering: revenue, computed score, effective tier and override")
    async def client_tiering(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ClientTieringRead:
        now = utcnow()
        today = now.date()
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            totals = await trailing_revenue(session, client_id, today)
            row = await ScoreRepository(session).current(client_id)
            link = await ProductiveLinkRepository(session).get(client_id)
        return ClientTieringRead(
            client_id=client_id,
            window_start=trailing_year_start(today),
            window_end=today,
            trailing_revenue=[
                RevenueRead(currency=t.currency, amount_minor=t.amount_minor, invoices=t.invoices) for t in totals
            ],
            current=score_read(row, now) if row is not None else None,
            productive_company_id=link.company_id if link is not None else None,
        )

    @post("/scores", summary="Score Now: rate the human dimensions; revenue is computed", status_code=HTTP_201_CREATED)
    async def score_now(
        self, identity: Caller, db: Db, desk: Desk, client_id: FromPath[str], data: Annotated[ScoreCreate, Body()]
    ) -> ScoreResult:
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await scores.score_now(
                session, identity, client_id, track=data.track, ratings=data.ratings, desk=desk, now=now
            )
        return ScoreResult(receipt=receipt_read(receipt), current=score_read(row, now))

    @post(
        "/override", summary="Override the effective tier (reason required, expiry optional)", status_code=HTTP_200_OK
    )
    async def set_override(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: Annotated[OverrideCreate, Body()]
    ) -> ScoreResult:
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await overrides.set_override(
                session, identity, client_id, tier=data.tier, reason=data.reason, expires_at=data.expires_at, now=now
            )
        return ScoreResult(receipt=receipt_read(receipt), current=score_read(row, now))

    @delete("/override", summary="Clear the override: the computed tier is effective again", status_code=HTTP_200_OK)
    async def clear_override(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ScoreResult:
        now = utcnow()
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            row, receipt = await overrides.clear_override(session, identity, client_id, now=now)
        return ScoreResult(receipt=receipt_read(receipt) if receipt else None, current=score_read(row, now))

    @put(
        "/productive-link",
        summary="Link the client to its Productive company (Executive and Head)",
        description="The Productive fallback asks for this company's invoices when the ledger has none; the monthly "
        "recalculation refreshes them first. Linking to another company forgets the revenue fetched for the old one.",
        status_code=HTTP_200_OK,
    )
    async def link_productive(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: Annotated[ProductiveLinkWrite, Body()]
    ) -> ProductiveLinkRead:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            link = await link_client(session, identity, client_id, data.company_id, now=utcnow())
            return link_read(client_id, link)

    @delete(
        "/productive-link",
        summary="Unlink the client from Productive: no Productive fallback (Executive and Head)",
        status_code=HTTP_200_OK,
    )
    async def unlink_productive(self, identity: Caller, db: Db, client_id: FromPath[str]) -> ProductiveLinkRead:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            await unlink_client(session, identity, client_id)
        return link_read(client_id, None)

    @get("/history", summary="Score history (receipts, newest first) with the trend")
    async def history(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> HistoryRead:
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        before = None
        if position is not None:
            try:
                before = (datetime.fromisoformat(str(position["at"])), str(position["id"]))
            except (KeyError, ValueError):
                raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from None
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            repository = ScoreRepository(session)
            receipts = await repository.history(client_id, limit=size + 1, before=before)
            trend = score_trend(await repository.recent_scores(client_id, 2))
        page, more = receipts[:size], len(receipts) > size
        next_cursor = encode_cursor({"at": page[-1].recorded_at.isoformat(), "id": page[-1].id}) if more else None
        return HistoryRead(trend=trend, items=[receipt_read(r) for r in page], next_cursor=next_cursor)
