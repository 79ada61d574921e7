"""Backfills: requested over HTTP, planned into per-connection slices, each slice a checkpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import GaveUp, MustWait, PlatformError, Transient
from clientpulse.results_ingest.db.models import Backfill, BackfillSlice
from clientpulse.results_ingest.db.repositories.backfills import BackfillConflict, BackfillRepository
from clientpulse.results_ingest.db.repositories.connections import ConnectionRepository
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.domain.connections import connection_status_for
from clientpulse.results_ingest.domain.goals import announce_goal_progress
from clientpulse.results_ingest.domain.ingest import (
    ConnectionRef,
    Runtime,
    credential_store,
    fetch_window,
    mark_connection,
    mark_throttled,
    store_window,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.windows import BACKFILL_DAYS, backfill_range, slices
from clientpulse.results_ingest.metrics import backfill_closed, slice_deferred, slice_finished
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.shared.contracts import new_event_id, wrap
from clientpulse.shared.contracts.events import (
    BackfillCompleted,
    BackfillFailed,
    BackfillRequested,
    BackfillSliceRequested,
)
from clientpulse.shared.db import Database, utcnow
from clientpulse.shared.errors import Conflict, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.shared.messaging import Deferred, record_event

SOURCE = "results-ingest"
_log = logging.getLogger("clientpulse.results_ingest.backfill")


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What the backfill worker needs besides the message and its unit of work."""

    runtime: Runtime
    database: Database


def backfill_view(backfill: Backfill) -> dict[str, object]:
    """A backfill as the API and a 409 describe it."""
    return {
        "id": backfill.id,
        "client_id": backfill.client_id,
        "days": backfill.days,
        "status": backfill.status,
        "window_start": backfill.window_start.isoformat(),
        "window_end": backfill.window_end.isoformat(),
        "slices_total": backfill.slices_total,
        "slices_done": backfill.slices_done,
        "slices_failed": backfill.slices_failed,
        "rows_written": backfill.rows_written,
        "error": backfill.error,
        "location": f"/api/v1/clients/{backfill.client_id}/results/backfills/{backfill.id}",
    }


async def request_backfill(session: AsyncSession, identity: Identity, client_id: str, days: int) -> Backfill:
    """Queue a backfill unless the client already has one queued or running (409 naming it)."""
    if days not in BACKFILL_DAYS:
        raise Unprocessable(f"days must be one of {', '.join(map(str, BACKFILL_DAYS))}, not {days}")
    window = backfill_range(days, utcnow().date())
    backfill = Backfill(
        id=new_event_id(),
        client_id=client_id,
        days=days,
        status="queued",
        window_start=window.start,
        window_end=window.end,
        slices_total=0,
        slices_done=0,
        rows_written=0,
        requested_by=identity.sub,
        created_at=utcnow(),
    )
    repository = BackfillRepository(session)
    try:
        await repository.add(backfill)
    except BackfillConflict:
        active = await repository.active_for(client_id)
        extra = {"active_backfill": backfill_view(active)} if active else None
        raise Conflict(f"client {client_id} already has a backfill in progress", extra=extra) from None
    connections = await ConnectionRepository(session).for_clients_platforms(client_id, REGISTRY.keys())
    event = BackfillRequested(
        backfill_id=backfill.id,
        client_id=client_id,
        days=days,
        requested_by=identity.sub,
        platforms=sorted({c.platform for c in connections}),
    )
    await record_event(session, wrap(event, source=SOURCE))
    return backfill


async def _finish(session: AsyncSession, backfill: Backfill, *, failed: str | None) -> None:
    """Close a backfill: ``failed`` with a reason when nothing could be read (no part was stored)."""
    repository = BackfillRepository(session)
    parts = [] if failed else [_part_failure(item) for item in await repository.failed_slices(backfill.id)]
    status = "failed" if failed else ("partial" if parts else "completed")
    if not await repository.finish(backfill.id, status=status, error=failed or ("; ".join(parts) or None)):
        return  # already closed by another worker
    backfill_closed(session, status)
    await session.refresh(backfill)
    if failed:
        event: BackfillCompleted | BackfillFailed = BackfillFailed(
            backfill_id=backfill.id,
            client_id=backfill.client_id,
            days=backfill.days,
            reason=failed,
            requested_by=backfill.requested_by,
        )
    else:
        event = BackfillCompleted(
            backfill_id=backfill.id,
            client_id=backfill.client_id,
            days=backfill.days,
            rows_written=backfill.rows_written,
            requested_by=backfill.requested_by,
            failed_parts=parts,
        )
    await record_event(session, wrap(event, source=SOURCE))


def _part_failure(item: BackfillSlice) -> str:
    return f"{item.platform} {item.window_start}..{item.window_end}: {item.error}"


async def _slice_finished(session: AsyncSession, backfill: Backfill, done: int, failed: int, total: int) -> None:
    """After a slice closed: the backfill closes with its last slice; with every slice failed it failed."""
    if done + failed < total:
        return
    if done == 0:
        reasons = [_part_failure(item) for item in await BackfillRepository(session).failed_slices(backfill.id)]
        await _finish(session, backfill, failed="; ".join(reasons) or "every part failed")
        return
    await _finish(session, backfill, failed=None)


async def _fail_slice(session: AsyncSession, backfill: Backfill, item: BackfillSlice, reason: str) -> None:
    """One platform's window failed for good: it is recorded, and the other parts go on."""
    _log.warning(
        "backfill %s: %s %s..%s failed: %s", backfill.id, item.platform, item.window_start, item.window_end, reason
    )
    slice_finished(session, item.platform, "failed")
    done, failed, total = await BackfillRepository(session).fail_slice(item, reason)
    await _slice_finished(session, backfill, done, failed, total)


async def plan_backfill(session: AsyncSession, data: BackfillRequested) -> None:
    """Cut a queued backfill into per-connection windows, one message each (workers share them)."""
    repository = BackfillRepository(session)
    backfill = await repository.get(data.backfill_id)
    if backfill is None or backfill.status != "queued":
        return
    window = DateRange(backfill.window_start, backfill.window_end)
    connections = await ConnectionRepository(session).for_clients_platforms(backfill.client_id, REGISTRY.keys())
    planned = [
        BackfillSlice(
            backfill_id=backfill.id,
            connection_id=c.id,
            window_start=part.start,
            window_end=part.end,
            platform=c.platform,
        )
        for c in connections
        if c.status != ConnectionStatus.EXPIRED.value
        for part in slices(window, REGISTRY.get(c.platform).slice_days)
    ]
    if not planned:
        await _finish(session, backfill, failed=None)
        return
    await repository.add_slices(planned)
    await repository.start(backfill.id, len(planned))
    for item in planned:
        await record_event(session, wrap(_slice_event(backfill, item), source=SOURCE))


def _slice_event(backfill: Backfill, item: BackfillSlice) -> BackfillSliceRequested:
    return BackfillSliceRequested(
        backfill_id=backfill.id,
        client_id=backfill.client_id,
        connection_id=item.connection_id,
        platform=item.platform,
        window_start=item.window_start,
        window_end=item.window_end,
    )


async def _wait_for_platform(
    session: AsyncSession, deps: WorkerDeps, backfill: Backfill, item: BackfillSlice, ref: ConnectionRef, exc: MustWait
) -> None:
    """The platform asked to wait: the slice waits (the rest of the backfill goes on), the connection
    shows until when, and the slice is requested again, all in this unit of work.

    The new request is deferred by its worker until the slice's time comes (``Deferred``), so the
    wait costs no worker and no delivery attempt. A slice deferred too often fails its backfill.
    """
    if item.deferrals >= deps.runtime.settings.max_slice_deferrals:
        reason = f"account {ref.account_id}: still throttled after {item.deferrals} waits: {exc}"
        await _fail_slice(session, backfill, item, reason)
        return
    item.deferrals += 1
    item.waiting_until = exc.until
    await mark_throttled(session, ref.id, exc.until, f"throttled until {exc.until.isoformat()}: {exc}")
    slice_deferred(session, ref.platform, exc.signal)
    await record_event(session, wrap(_slice_event(backfill, item), source=SOURCE))
    _log.info("backfill %s: %s waits until %s (%s)", backfill.id, ref.platform, exc.until.isoformat(), exc)


async def run_slice(session: AsyncSession, data: BackfillSliceRequested, deps: WorkerDeps) -> None:
    """Fetch and store one slice, checkpoint it, and close the backfill when it was the last one."""
    repository = BackfillRepository(session)
    item = await repository.slice(data.backfill_id, data.connection_id, data.window_start)
    if item is None or item.status != "pending":
        return
    clock = deps.runtime.clock
    if item.waiting_until is not None and item.waiting_until > clock.now():
        # Nothing was written yet: the unit of work rolls back and the event comes back at that time.
        seconds = (item.waiting_until - clock.now()).total_seconds()
        raise Deferred(clock.real_seconds(seconds), f"the platform asked to wait until {item.waiting_until}")
    backfill = await repository.get(data.backfill_id)
    if backfill is None or backfill.status != "running":
        return
    connection = await ConnectionRepository(session).by_id(data.connection_id)
    if connection is None:
        await _fail_slice(session, backfill, item, f"connection {data.connection_id} was removed during the backfill")
        return
    ref = ConnectionRef.of(connection)
    window = DateRange(item.window_start, item.window_end)
    try:
        fetched = await fetch_window(
            deps.runtime,
            ref,
            window,
            store=credential_store(deps.database, deps.runtime.box, ref.id, session),
            # The newest slice also asks for the platform's reach over the standard windows.
            with_reach=item.window_end == backfill.window_end,
        )
    except MustWait as exc:
        await _wait_for_platform(session, deps, backfill, item, ref, exc)
        return
    except (PlatformError, GaveUp, Transient) as exc:
        status, message = connection_status_for(exc)
        if status is ConnectionStatus.EXPIRED or isinstance(exc, PlatformError):
            await mark_connection(session, ref.id, status, message)
        await _fail_slice(session, backfill, item, f"account {ref.account_id}: {message}")
        return
    item.waiting_until = None
    rows = await store_window(session, ref, fetched, window)
    done, failed, total = await repository.complete_slice(item, rows)
    slice_finished(session, ref.platform, "completed")
    await _slice_finished(session, backfill, done, failed, total)
    if done + failed >= total:  # the backfill closed with this slice: its linked goals are measured anew
        today, rates = deps.runtime.clock.now().date(), deps.runtime.settings.rate_table()
        await announce_goal_progress(session, backfill.client_id, today, rates)
