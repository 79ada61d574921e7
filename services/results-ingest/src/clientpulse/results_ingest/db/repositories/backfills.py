"""The ``backfills`` and ``backfill_slices`` tables: backfill jobs and their checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import ACTIVE_BACKFILL_STATES, Backfill, BackfillSlice
from clientpulse.results_ingest.db.repositories.dialect import dialect_insert
from clientpulse.shared.db import utcnow


class BackfillConflict(Exception):
    """Another backfill of the same client is still queued or running."""


class BackfillRepository:
    """Backfill jobs and their slices (the checkpoints)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, client_id: str) -> Backfill | None:
        """The client's queued or running backfill, if any."""
        query = select(Backfill).where(Backfill.client_id == client_id, Backfill.status.in_(ACTIVE_BACKFILL_STATES))
        return (await self.session.scalars(query)).first()

    async def add(self, backfill: Backfill) -> None:
        """Store a new backfill; raise ``BackfillConflict`` when the one-active index refuses it."""
        try:
            async with self.session.begin_nested():
                self.session.add(backfill)
                await self.session.flush()
        except IntegrityError as exc:
            raise BackfillConflict(backfill.client_id) from exc

    async def get(self, backfill_id: str) -> Backfill | None:
        """A backfill by id."""
        return await self.session.get(Backfill, backfill_id)

    async def for_client(self, client_id: str, backfill_id: str) -> Backfill | None:
        """One of a client's backfills."""
        query = select(Backfill).where(Backfill.id == backfill_id, Backfill.client_id == client_id)
        return (await self.session.scalars(query)).first()

    async def add_slices(self, slices: Sequence[BackfillSlice]) -> None:
        """Plan the slices of a backfill (ignoring ones already planned by an earlier delivery)."""
        if not slices:
            return
        rows = [
            {
                "backfill_id": s.backfill_id,
                "connection_id": s.connection_id,
                "window_start": s.window_start,
                "window_end": s.window_end,
                "platform": s.platform,
                "status": "pending",
                "rows_written": 0,
            }
            for s in slices
        ]
        await self.session.execute(dialect_insert(self.session, BackfillSlice).values(rows).on_conflict_do_nothing())

    async def waiting_until(self, backfill_id: str) -> datetime | None:
        """The latest time a pending slice of the backfill waits for (a platform asked to wait), if any."""
        query = select(func.max(BackfillSlice.waiting_until)).where(
            BackfillSlice.backfill_id == backfill_id, BackfillSlice.status == "pending"
        )
        return await self.session.scalar(query)

    async def pending_slices(self, backfill_id: str) -> Sequence[BackfillSlice]:
        """The slices not done yet."""
        query = select(BackfillSlice).where(BackfillSlice.backfill_id == backfill_id, BackfillSlice.status == "pending")
        return (
            await self.session.scalars(query.order_by(BackfillSlice.connection_id, BackfillSlice.window_start))
        ).all()

    async def slice(self, backfill_id: str, connection_id: str, window_start: date) -> BackfillSlice | None:
        """One slice."""
        return await self.session.get(BackfillSlice, (backfill_id, connection_id, window_start))

    async def start(self, backfill_id: str, slices_total: int) -> None:
        """The plan is stored: the backfill is running."""
        await self.session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.status == "queued")
            .values(status="running", slices_total=slices_total)
        )

    async def complete_slice(self, item: BackfillSlice, rows_written: int) -> tuple[int, int, int]:
        """Checkpoint one slice; returns the backfill's (slices_done, slices_failed, slices_total) after it.

        The counter is advanced in one UPDATE so concurrent workers on PostgreSQL serialise on the
        backfill's row and exactly one of them sees the last slice finished.
        """
        item.status = "done"
        item.rows_written = rows_written
        item.done_at = utcnow()
        await self.session.flush()
        return await self._count(
            item.backfill_id, slices_done=Backfill.slices_done + 1, rows_written=Backfill.rows_written + rows_written
        )

    async def fail_slice(self, item: BackfillSlice, error: str) -> tuple[int, int, int]:
        """Close one slice as failed (its platform refused it for good); counts as ``complete_slice``."""
        item.status = "failed"
        item.error = error
        item.waiting_until = None
        item.done_at = utcnow()
        await self.session.flush()
        return await self._count(item.backfill_id, slices_failed=Backfill.slices_failed + 1)

    async def _count(self, backfill_id: str, **advance: object) -> tuple[int, int, int]:
        await self.session.execute(update(Backfill).where(Backfill.id == backfill_id).values(**advance))
        row = (
            await self.session.execute(
                select(Backfill.slices_done, Backfill.slices_failed, Backfill.slices_total).where(
                    Backfill.id == backfill_id
                )
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    async def slices_of(self, backfill_id: str) -> Sequence[BackfillSlice]:
        """Every slice of a backfill, by platform and connection, newest window first."""
        query = select(BackfillSlice).where(BackfillSlice.backfill_id == backfill_id)
        order = (BackfillSlice.platform, BackfillSlice.connection_id, BackfillSlice.window_start.desc())
        return (await self.session.scalars(query.order_by(*order))).all()

    async def failed_slices(self, backfill_id: str) -> Sequence[BackfillSlice]:
        """The slices whose platform refused them."""
        query = select(BackfillSlice).where(BackfillSlice.backfill_id == backfill_id, BackfillSlice.status == "failed")
        return (await self.session.scalars(query.order_by(BackfillSlice.platform, BackfillSlice.window_start))).all()

    async def finish(self, backfill_id: str, *, status: str, error: str | None = None) -> bool:
        """Close a backfill that is still active; ``False`` if it was already closed."""
        result = await self.session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.status.in_(ACTIVE_BACKFILL_STATES))
            .values(status=status, error=error, finished_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))
