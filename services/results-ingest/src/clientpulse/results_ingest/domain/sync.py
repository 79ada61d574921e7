"""The daily sync: re-read each connection's trailing window, store it, announce SyncCompleted.

A platform that asks to wait is not a failure: the connection stays connected with the time it
resumes (``throttled_until``), the sync reads the other connections, and comes back to it when the
time has come, for as long as ``sync_max_wait_seconds`` allows; what still waits then is read by
the next sync (the re-read window covers it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import GaveUp, MustWait, PlatformError, Transient
from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.db.repositories.connections import ConnectionRepository
from clientpulse.results_ingest.domain.catalogue import Aggregation
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.domain.connections import connection_status_for
from clientpulse.results_ingest.domain.goals import announce_goal_progress
from clientpulse.results_ingest.domain.ingest import (
    ConnectionRef,
    FetchedWindow,
    Runtime,
    account_today,
    credential_store,
    fetch_window,
    mark_connection,
    mark_throttled,
    store_window,
)
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE
from clientpulse.results_ingest.domain.windows import reread_window
from clientpulse.results_ingest.metrics import sync_throttled
from clientpulse.results_ingest.platforms import REGISTRY, PlatformSpec
from clientpulse.results_ingest.secrets_vault import SecretsUnreadable
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import ConnectionExpiring, MetricValue, SyncCompleted
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import record_event

SOURCE = "results-ingest"
SAME_ENDING = timedelta(hours=1)
_log = logging.getLogger("clientpulse.results_ingest.sync")


@dataclass(slots=True)
class SyncReport:
    """What a sync run did."""

    synced: int = 0
    failed: int = 0
    rows_written: int = 0
    failures: list[str] = field(default_factory=list)
    # Connections whose platform still asked to wait when the sync ended (not failures).
    waiting: list[str] = field(default_factory=list)
    expiry_warnings: int = 0


def expiry_warning_due(
    expires_at: datetime | None, renewable: bool, warned_for: datetime | None, now: datetime, warning_days: int
) -> bool:
    """Whether to tell the DM now that a connection's token ends: it cannot be renewed (no refresh
    token), it ends within ``warning_days``, and this ending was not announced already."""
    if expires_at is None or renewable or expires_at <= now:
        return False
    # A renewal that could not extend the token reports the same end to within seconds: one ending.
    announced = warned_for is not None and abs(expires_at - warned_for) < SAME_ENDING
    return expires_at - now <= timedelta(days=warning_days) and not announced


async def sync_all(runtime: Runtime, database: Database, *, progress: bool = True) -> SyncReport:
    """Sync every connection that is not waiting for a person; a failing one never stops the others."""
    async with database.transaction() as session:
        refs = [ConnectionRef.of(c) for c in await ConnectionRepository(session).all_syncable(REGISTRY.keys())]
    report = SyncReport()
    clock = runtime.clock
    deadline = clock.now() + timedelta(seconds=runtime.settings.sync_max_wait_seconds)
    queue = refs
    waiting: dict[str, tuple[ConnectionRef, datetime]] = {}
    done = 0
    while True:
        for ref in queue:
            outcome = await _sync_one(runtime, database, ref, report)
            if outcome is not None:
                waiting[ref.id] = (ref, outcome.until)
            else:
                done += 1
            if progress:
                _log.info(
                    "sync %d/%d connections (%d failed, %d waiting for their platform)",
                    done,
                    len(refs),
                    report.failed,
                    len(waiting),
                )
        if not waiting:
            break
        resume = min(until for _, until in waiting.values())
        if resume > deadline:
            report.waiting = [
                f"{ref.platform} account {ref.account_id} (client {ref.client_id}): waits until {until.isoformat()}"
                for ref, until in waiting.values()
            ]
            break
        await clock.sleep(max(0.0, (resume - clock.now()).total_seconds()))
        now = clock.now()
        queue = [ref for ref, until in waiting.values() if until <= now]
        for ref in queue:
            del waiting[ref.id]
    return report


async def _sync_one(runtime: Runtime, database: Database, ref: ConnectionRef, report: SyncReport) -> MustWait | None:
    try:
        await sync_connection(runtime, database, ref, report)
    except MustWait as exc:
        sync_throttled(ref.platform)
        async with database.transaction() as session:
            await mark_throttled(session, ref.id, exc.until, f"throttled until {exc.until.isoformat()}: {exc}")
        return exc
    except (PlatformError, GaveUp, Transient, SecretsUnreadable) as exc:
        status, message = (
            connection_status_for(exc) if not isinstance(exc, SecretsUnreadable) else (ConnectionStatus.ERROR, str(exc))
        )
        report.failed += 1
        report.failures.append(f"{ref.platform} account {ref.account_id} (client {ref.client_id}): {message}")
        async with database.transaction() as session:
            await mark_connection(session, ref.id, status, message)
    return None


def window_totals(fetched: FetchedWindow, spec: PlatformSpec[Any]) -> dict[str, tuple[int | Decimal, str | None]]:
    """Each metric's total over a synced window (what SyncCompleted carries): an ad platform's campaign
    sums, the sums of a platform's own daily metrics, and a level's value on the window's last day."""
    currency = fetched.account.currency
    totals: dict[str, tuple[int | Decimal, str | None]] = {}
    if fetched.days or not fetched.metric_days:
        totals = {
            "spend_minor": (sum(d.spend_minor for d in fetched.days), currency),
            "impressions": (sum(d.impressions for d in fetched.days), None),
            "clicks": (sum(d.clicks for d in fetched.days), None),
            "conversions": (Decimal(sum(d.conversions_e4 for d in fetched.days)) / CONVERSION_SCALE, None),
            "conversion_value_minor": (sum(d.conversion_value_minor for d in fetched.days), currency),
        }
    catalogue = {m.key: m for m in spec.metrics}
    for d in sorted((d for d in fetched.metric_days if d.breakdown is None), key=lambda d: d.day):
        metric = catalogue[d.metric_key]
        name, unit = metric.key.removesuffix("_e4"), d.currency if metric.is_money else None
        value = Decimal(d.value) / CONVERSION_SCALE if metric.key.endswith("_e4") else Decimal(d.value)
        if metric.aggregation is Aggregation.LEVEL:
            totals[name] = (value, unit)  # the days come oldest first: the last one stays
        else:
            previous = totals.get(name, (Decimal(0), unit))[0]
            totals[name] = (Decimal(previous) + value, unit)
    return totals


async def sync_connection(runtime: Runtime, database: Database, ref: ConnectionRef, report: SyncReport) -> None:
    """Re-read one connection's trailing window and store it with its SyncCompleted and the client's linked
    goals measured anew (GoalsMeasured), in one transaction."""
    spec = ref.spec
    fetched = await fetch_window(
        runtime,
        ref,
        lambda account: reread_window(spec.reread_days, account_today(account.time_zone, runtime.clock.now())),
        store=credential_store(database, runtime.box, ref.id, None),
        with_reach=True,
    )
    window = fetched.window
    totals = window_totals(fetched, spec)
    async with database.transaction() as session:
        written = await store_window(session, ref, fetched, window)
        await mark_connection(session, ref.id, ConnectionStatus.CONNECTED, None)
        event = SyncCompleted(
            client_id=ref.client_id,
            connection_id=ref.id,
            platform=ref.platform,
            window_start=window.start,
            window_end=window.end,
            days_written=len({d.day for d in fetched.days} | {d.day for d in fetched.metric_days}),
            metrics=[MetricValue(metric=k, value=Decimal(v), unit=unit) for k, (v, unit) in totals.items()],
        )
        await record_event(session, wrap(event, source=SOURCE))
        await announce_goal_progress(session, ref.client_id, runtime.clock.now().date(), runtime.settings.rate_table())
        if await warn_of_expiry(session, runtime, ref, fetched):
            report.expiry_warnings += 1
    report.synced += 1
    report.rows_written += written


async def warn_of_expiry(session: AsyncSession, runtime: Runtime, ref: ConnectionRef, fetched: FetchedWindow) -> bool:
    """Announce (once per ending) that a connection's token ends soon and needs a person to log in again."""
    connection = await session.get(Connection, ref.id)
    if connection is None or not expiry_warning_due(
        fetched.credentials_expire_at,
        fetched.credentials_renewable,
        connection.expiry_warned_for,
        runtime.clock.now(),
        runtime.settings.token_expiry_warning_days,
    ):
        return False
    expires_at = fetched.credentials_expire_at
    assert expires_at is not None  # checked by expiry_warning_due
    connection.expiry_warned_for = expires_at
    event = ConnectionExpiring(
        client_id=ref.client_id,
        connection_id=ref.id,
        platform=ref.platform,
        platform_name=ref.spec.name,
        account_id=ref.account_id,
        account_name=fetched.account.name,
        expires_at=expires_at,
    )
    await record_event(session, wrap(event, source=SOURCE))
    return True
