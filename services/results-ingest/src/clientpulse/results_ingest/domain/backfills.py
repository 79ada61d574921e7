"""Backfills: requested over HTTP, planned into per-connection slices, each slice a checkpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import GaveUp, PlatformError, Transient
from clientpulse.results_ingest.connectors.factory import AD_PLATFORMS
from clientpulse.results_ingest.db.models import Backfill, BackfillSlice
from clientpulse.results_ingest.db.repositories import BackfillConflict, BackfillRepository, ConnectionRepository
from clientpulse.results_ingest.domain.connections import connection_status_for
from clientpulse.results_ingest.domain.ingest import (
    ConnectionRef,
    credential_store,
    fetch_window,
    mark_connection,
    store_window,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import ConnectionStatus, Platform
from clientpulse.results_ingest.domain.windows import BACKFILL_DAYS, SLICE_DAYS, backfill_range, slices
from clientpulse.results_ingest.metrics import backfill_closed, slice_finished
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
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
from clientpulse.shared.messaging import record_event

SOURCE = "results-ingest"
_log = logging.getLogger("clientpulse.results_ingest.backfill")


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What the backfill worker needs besides the message and its unit of work."""

    settings: ResultsSettings
    box: SecretBox
    http: httpx.AsyncClient
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
    connections = await ConnectionRepository(session).for_clients_platforms(client_id, [p.value for p in AD_PLATFORMS])
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
    repository = BackfillRepository(session)
    if not await repository.finish(backfill.id, status="failed" if failed else "completed", error=failed):
        return  # already closed by another worker
    backfill_closed(session, "failed" if failed else "completed")
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
        )
    await record_event(session, wrap(event, source=SOURCE))


async def plan_backfill(session: AsyncSession, data: BackfillRequested) -> None:
    """Cut a queued backfill into per-connection windows, one message each (workers share them)."""
    repository = BackfillRepository(session)
    backfill = await repository.get(data.backfill_id)
    if backfill is None or backfill.status != "queued":
        return
    window = DateRange(backfill.window_start, backfill.window_end)
    connections = await ConnectionRepository(session).for_clients_platforms(
        backfill.client_id, [p.value for p in AD_PLATFORMS]
    )
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
        for part in slices(window, SLICE_DAYS[Platform(c.platform)])
    ]
    if not planned:
        await _finish(session, backfill, failed=None)
        return
    await repository.add_slices(planned)
    await repository.start(backfill.id, len(planned))
    for item in planned:
        event = BackfillSliceRequested(
            backfill_id=backfill.id,
            client_id=backfill.client_id,
            connection_id=item.connection_id,
            platform=item.platform,
            window_start=item.window_start,
            window_end=item.window_end,
        )
        await record_event(session, wrap(event, source=SOURCE))


async def run_slice(session: AsyncSession, data: BackfillSliceRequested, deps: WorkerDeps) -> None:
    """Fetch and store one slice, checkpoint it, and close the backfill when it was the last one."""
    repository = BackfillRepository(session)
    item = await repository.slice(data.backfill_id, data.connection_id, data.window_start)
    if item is None or item.status == "done":
        return
    backfill = await repository.get(data.backfill_id)
    if backfill is None or backfill.status != "running":
        return
    connection = await ConnectionRepository(session).by_id(data.connection_id)
    if connection is None:
        slice_finished(session, data.platform, "failed")
        await _finish(session, backfill, failed=f"connection {data.connection_id} was removed during the backfill")
        return
    ref = ConnectionRef.of(connection)
    window = DateRange(item.window_start, item.window_end)
    try:
        fetched = await fetch_window(
            deps.settings,
            deps.box,
            deps.http,
            ref,
            window,
            store=credential_store(deps.database, deps.box, ref.id, session),
            # The newest slice also asks for the trailing week's reach: the fatigue flag needs it.
            with_reach=item.window_end == backfill.window_end,
        )
    except (PlatformError, GaveUp, Transient) as exc:
        status, message = connection_status_for(exc)
        if status is ConnectionStatus.EXPIRED or isinstance(exc, PlatformError):
            await mark_connection(session, ref.id, status, message)
        reason = f"{ref.platform.value} account {ref.account_id}, {window.start}..{window.end}: {message}"
        _log.warning("backfill %s failed: %s", backfill.id, reason)
        slice_finished(session, ref.platform.value, "failed")
        await _finish(session, backfill, failed=reason)
        return
    rows = await store_window(session, ref, fetched, window)
    done, total, _rows = await repository.complete_slice(item, rows)
    slice_finished(session, ref.platform.value, "completed")
    if done >= total:
        await _finish(session, backfill, failed=None)
