"""The daily sync: re-read each connection's trailing window, store it, announce SyncCompleted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

from clientpulse.results_ingest.connectors.base import GaveUp, PlatformError, Transient
from clientpulse.results_ingest.connectors.factory import AD_PLATFORMS, http_client
from clientpulse.results_ingest.db.repositories import ConnectionRepository
from clientpulse.results_ingest.domain.connections import connection_status_for
from clientpulse.results_ingest.domain.ingest import (
    ConnectionRef,
    account_today,
    credential_store,
    fetch_window,
    mark_connection,
    store_window,
)
from clientpulse.results_ingest.domain.platforms import ConnectionStatus
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE
from clientpulse.results_ingest.domain.windows import reread_window
from clientpulse.results_ingest.secrets_vault import SecretBox, SecretsUnreadable
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import MetricValue, SyncCompleted
from clientpulse.shared.db import Database
from clientpulse.shared.messaging import record_event

SOURCE = "results-ingest"
_log = logging.getLogger("clientpulse.results_ingest.sync")


@dataclass(slots=True)
class SyncReport:
    """What a sync run did."""

    synced: int = 0
    failed: int = 0
    rows_written: int = 0
    failures: list[str] = field(default_factory=list)


async def sync_all(settings: ResultsSettings, database: Database, *, progress: bool = True) -> SyncReport:
    """Sync every connection that is not waiting for a person; a failing one never stops the others."""
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    async with database.transaction() as session:
        refs = [
            ConnectionRef.of(c)
            for c in await ConnectionRepository(session).all_syncable([p.value for p in AD_PLATFORMS])
        ]
    report = SyncReport()
    async with http_client(settings) as http:
        for number, ref in enumerate(refs, start=1):
            try:
                await sync_connection(settings, database, box, http, ref, report)
            except (PlatformError, GaveUp, Transient, SecretsUnreadable) as exc:
                status, message = (
                    connection_status_for(exc)
                    if not isinstance(exc, SecretsUnreadable)
                    else (ConnectionStatus.ERROR, str(exc))
                )
                report.failed += 1
                report.failures.append(
                    f"{ref.platform.value} account {ref.account_id} (client {ref.client_id}): {message}"
                )
                async with database.transaction() as session:
                    await mark_connection(session, ref.id, status, message)
            if progress:
                _log.info("sync %d/%d connections (%d failed)", number, len(refs), report.failed)
    return report


async def sync_connection(
    settings: ResultsSettings,
    database: Database,
    box: SecretBox,
    http: httpx.AsyncClient,
    ref: ConnectionRef,
    report: SyncReport,
) -> None:
    """Re-read one connection's trailing window and store it with its SyncCompleted, in one transaction."""
    fetched = await fetch_window(
        settings,
        box,
        http,
        ref,
        lambda account: reread_window(ref.platform, account_today(account.time_zone)),
        store=credential_store(database, box, ref.id, None),
        with_reach=True,
    )
    window = fetched.window
    currency = fetched.account.currency
    totals: dict[str, tuple[int | Decimal, str | None]] = {
        "spend_minor": (sum(d.spend_minor for d in fetched.days), currency),
        "impressions": (sum(d.impressions for d in fetched.days), None),
        "clicks": (sum(d.clicks for d in fetched.days), None),
        "conversions": (Decimal(sum(d.conversions_e4 for d in fetched.days)) / CONVERSION_SCALE, None),
        "conversion_value_minor": (sum(d.conversion_value_minor for d in fetched.days), currency),
    }
    async with database.transaction() as session:
        written = await store_window(session, ref, fetched, window)
        await mark_connection(session, ref.id, ConnectionStatus.CONNECTED, None)
        event = SyncCompleted(
            client_id=ref.client_id,
            connection_id=ref.id,
            platform=ref.platform.value,
            window_start=window.start,
            window_end=window.end,
            days_written=len({d.day for d in fetched.days}),
            metrics=[MetricValue(metric=k, value=Decimal(v), unit=unit) for k, (v, unit) in totals.items()],
        )
        await record_event(session, wrap(event, source=SOURCE))
    report.synced += 1
    report.rows_written += written
