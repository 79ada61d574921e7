"""Reading a connection's window from its platform and storing it: shared by sync and backfill."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import Credentials, Exclusive, Renew
from clientpulse.results_ingest.connectors.factory import build_connector
from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.db.repositories import ResultsRepository, StoredAccount
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import ConnectionStatus, Platform
from clientpulse.results_ingest.domain.records import AccountInfo, CampaignDay
from clientpulse.results_ingest.domain.windows import final_before
from clientpulse.results_ingest.metrics import rows_written
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.db import Database

_log = logging.getLogger("clientpulse.results_ingest.ingest")


@dataclass(frozen=True, slots=True)
class ConnectionRef:
    """What a worker needs of a connection, read before any platform call."""

    id: str
    client_id: str
    platform: Platform
    account_id: str
    secret: str | None

    @classmethod
    def of(cls, connection: Connection) -> ConnectionRef:
        """A reference to a stored connection."""
        return cls(
            connection.id, connection.client_id, Platform(connection.platform), connection.account_id, connection.secret
        )


@dataclass(frozen=True, slots=True)
class FetchedWindow:
    """What the platform said about one window."""

    account: AccountInfo
    days: list[CampaignDay]
    reach: dict[str, tuple[int, int]]
    reach_window: DateRange | None
    window: DateRange


def account_today(time_zone: str, now: datetime | None = None) -> date:
    """Today's date in the account's own time zone (days are the account's days)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or datetime.now(UTC)).astimezone(zone).date()


# One renewal at a time per connection inside this process (SQLite, the single-process mode).
_RENEWING: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


def credential_store(database: Database, box: SecretBox, connection_id: str, session: AsyncSession | None) -> Exclusive:
    """Renew a connection's credentials under its lock and store them before they are used.

    On PostgreSQL the connection's row is locked (``FOR UPDATE``) in a transaction of its own, so
    replicas renewing at once take turns, the second finds the first's tokens (a rotated refresh
    token is spent after one use), and what is stored survives whatever happens to the work that
    needed it. SQLite has one writer and one process: an in-process lock, and inside a consumer's
    transaction the same session.
    """

    async def renew_in(work: AsyncSession, current: Credentials, renew: Renew, *, lock: bool) -> Credentials:
        query = select(Connection.secret).where(Connection.id == connection_id)
        secret = await work.scalar(query.with_for_update() if lock else query)
        stored = Credentials.from_secret(box.open(secret)) if secret else current
        if stored.access_token != current.access_token:
            return stored  # another worker renewed them first
        renewed = await renew(stored)
        await work.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(secret=box.seal(renewed.to_secret()), status=ConnectionStatus.CONNECTED.value, status_message=None)
        )
        return renewed

    async def exclusive(current: Credentials, renew: Renew) -> Credentials:
        if database.is_postgres:
            async with database.transaction() as own:
                return await renew_in(own, current, renew, lock=True)
        async with _RENEWING[connection_id]:
            if session is not None:
                return await renew_in(session, current, renew, lock=False)
            async with database.transaction() as own:
                return await renew_in(own, current, renew, lock=False)

    return exclusive


async def fetch_window(
    settings: ResultsSettings,
    box: SecretBox,
    http: httpx.AsyncClient,
    ref: ConnectionRef,
    window: DateRange | Callable[[AccountInfo], DateRange],
    *,
    store: Exclusive | None,
    with_reach: bool,
) -> FetchedWindow:
    """Read one window of a connection (and, for syncs, the trailing 7-day reach) from its platform.

    ``window`` may be a rule applied to the account (a sync's window is in the account's own days).
    """
    if ref.secret is None:
        raise ValueError(f"connection {ref.id} has no stored credentials")
    credentials = Credentials.from_secret(box.open(ref.secret))
    connector = build_connector(
        settings,
        ref.platform,
        ref.account_id,
        http,
        credentials,
        exclusive=store,
    )
    account = await connector.account_info()
    if callable(window):
        window = window(account)
    days = await connector.campaign_days(window, account)
    reach: dict[str, tuple[int, int]] = {}
    reach_window = None
    if with_reach:
        end = account_today(account.time_zone) - timedelta(days=1)
        reach_window = DateRange(end - timedelta(days=6), end)
        reach = await connector.period_reach(reach_window)
    return FetchedWindow(account, days, reach, reach_window, window)


async def store_window(session: AsyncSession, ref: ConnectionRef, fetched: FetchedWindow, window: DateRange) -> int:
    """Upsert a fetched window; days outside the platform's re-read window are final. Returns rows written."""
    results = ResultsRepository(session)
    account = StoredAccount(ref.id, ref.client_id, ref.platform.value, fetched.account.time_zone)
    cutoff = final_before(ref.platform, account_today(fetched.account.time_zone))
    written = await results.upsert_campaign_days(account, fetched.days, final_before=cutoff)
    rows_written(session, ref.platform.value, written)
    await results.refresh_account_metrics(account, window.start, window.end, final_before=cutoff)
    await results.mark_final(ref.id, cutoff)
    if fetched.reach_window is not None:
        await results.upsert_period_reach(account, fetched.reach_window.start, fetched.reach_window.end, fetched.reach)
    await session.execute(
        update(Connection)
        .where(Connection.id == ref.id)
        .values(
            currency=fetched.account.currency,
            time_zone=fetched.account.time_zone,
            account_name=fetched.account.name,
            last_synced_at=datetime.now(UTC),
        )
    )
    return written


async def mark_connection(
    session: AsyncSession, connection_id: str, status: ConnectionStatus, message: str | None
) -> None:
    """Record how the platform last answered for this connection."""
    await session.execute(
        update(Connection).where(Connection.id == connection_id).values(status=status.value, status_message=message)
    )
