"""Reading a connection's window from its platform and storing it: shared by sync and backfill."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import (
    Clock,
    ConnectorContext,
    Credentials,
    Exclusive,
    GaveUp,
    MustWait,
    OnRefresh,
    PlatformConnector,
    PlatformError,
    Renew,
    RetryPolicy,
    Transient,
)
from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.db.repositories.account_metrics import AccountMetricRepository
from clientpulse.results_ingest.db.repositories.ad_days import AdDayRepository
from clientpulse.results_ingest.db.repositories.campaign_days import CampaignDayRepository
from clientpulse.results_ingest.db.repositories.metric_breakdowns import MetricBreakdownRepository
from clientpulse.results_ingest.db.repositories.metric_windows import MetricWindowRepository
from clientpulse.results_ingest.db.repositories.period_reach import PeriodReachRepository
from clientpulse.results_ingest.db.repositories.stored_account import StoredAccount
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, AdCreativeDay, CampaignDay, MetricDay, WindowFigure
from clientpulse.results_ingest.domain.windows import final_before, standard_reach_windows
from clientpulse.results_ingest.metrics import rows_written
from clientpulse.results_ingest.pauses import LocalPauses, SharedPauses
from clientpulse.results_ingest.platforms import REGISTRY, ConnectionTarget, PlatformSpec
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.db import Database

_log = logging.getLogger("clientpulse.results_ingest.ingest")


@dataclass(frozen=True, slots=True)
class ConnectionRef:
    """What a worker needs of a connection, read before any platform call."""

    id: str
    client_id: str
    platform: str
    account_id: str
    secret: str | None
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, connection: Connection) -> ConnectionRef:
        """A reference to a stored connection."""
        return cls(
            connection.id,
            connection.client_id,
            connection.platform,
            connection.account_id,
            connection.secret,
            dict(connection.options or {}),
        )

    @property
    def spec(self) -> PlatformSpec[Any]:
        """The connection's platform."""
        return REGISTRY.get(self.platform)


@dataclass(frozen=True, slots=True)
class FetchedWindow:
    """What the platform said about one window (and the platform's reach for each window asked)."""

    account: AccountInfo
    days: list[CampaignDay]
    reach: dict[DateRange, dict[str, tuple[int, int]]]
    window: DateRange
    # The account's own metrics (platforms without campaign rows) and its per-window counts of people.
    metric_days: list[MetricDay] = field(default_factory=list)
    window_figures: list[WindowFigure] = field(default_factory=list)
    credentials_expire_at: datetime | None = None
    # Whether a refresh token keeps the access alive, or it ends at ``credentials_expire_at``.
    credentials_renewable: bool = True
    # Each ad's copy and days (ad platforms; read with the newest window only).
    ad_days: list[AdCreativeDay] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What talking to platforms needs besides a connection: settings, HTTP, secrets, time and pauses."""

    settings: ResultsSettings
    box: SecretBox
    http: httpx.AsyncClient
    clock: Clock = field(default_factory=Clock)
    pauses: SharedPauses = field(default_factory=LocalPauses)


def retry_policy(settings: ResultsSettings) -> RetryPolicy:
    """The per-request retry policy from settings."""
    return RetryPolicy(
        attempts=settings.max_retries, base_wait=settings.retry_base_wait, max_wait=settings.max_retry_wait
    )


def connector_for(
    runtime: Runtime,
    platform: str,
    target: ConnectionTarget,
    credentials: Credentials,
    *,
    on_refresh: OnRefresh | None = None,
    exclusive: Exclusive | None = None,
) -> tuple[PlatformConnector, ConnectorContext]:
    """A platform's connector for one account, and the context it works in."""
    spec = REGISTRY.get(platform)
    ctx = ConnectorContext(
        http=runtime.http,
        credentials=credentials,
        policy=retry_policy(runtime.settings),
        on_refresh=on_refresh,
        exclusive=exclusive,
        clock=runtime.clock,
        pauses=runtime.pauses,
    )
    return spec.build_connector(ctx, runtime.settings.platform_settings(spec), target), ctx


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


async def renew_if_due(runtime: Runtime, ctx: ConnectorContext, spec: PlatformSpec[Any]) -> None:
    """Renew credentials that end within the platform's renewal margin, where the platform allows it.

    A failed renewal does not stop the work: the credentials in hand are still valid, and the
    platform's answers to the reads say whether they are not.
    """
    renew_ahead = spec.auth.renew_ahead
    expires_at = ctx.credentials.expires_at
    if renew_ahead is None or expires_at is None or expires_at - ctx.clock.now() > renew_ahead:
        return
    auth = spec.auth
    settings = runtime.settings.platform_settings(spec)

    async def renew(credentials: Credentials) -> Credentials:
        return await auth.renew(ctx, settings, credentials)  # type: ignore[union-attr]

    try:
        await ctx.renew(renew)
    except (PlatformError, GaveUp, Transient, MustWait) as exc:
        _log.warning("could not renew %s credentials ending %s: %s", spec.key, expires_at.isoformat(), exc)


async def fetch_window(
    runtime: Runtime,
    ref: ConnectionRef,
    window: DateRange | Callable[[AccountInfo], DateRange],
    *,
    store: Exclusive | None,
    with_reach: bool,
) -> FetchedWindow:
    """Read one window of a connection (and, when asked, the platform's reach for the standard windows).

    ``window`` may be a rule applied to the account (a sync's window is in the account's own days).
    The ads with their copy are read with the newest window only (a sync, a backfill's newest slice:
    the windows that read reach), over at least the platform's re-read days ending with it.
    """
    if ref.secret is None:
        raise ValueError(f"connection {ref.id} has no stored credentials")
    credentials = Credentials.from_secret(runtime.box.open(ref.secret))
    spec = ref.spec
    connector, ctx = connector_for(
        runtime, ref.platform, ConnectionTarget(ref.account_id, ref.options), credentials, exclusive=store
    )
    await renew_if_due(runtime, ctx, spec)
    account = await connector.account_info()
    if callable(window):
        window = window(account)
    days = await connector.campaign_days(window, account)
    metric_days = await connector.metric_days(window, account)
    ad_days = await connector.ad_creatives(ads_window(window, spec.reread_days), account) if with_reach else []
    reach: dict[DateRange, dict[str, tuple[int, int]]] = {}
    figures: list[WindowFigure] = []
    if with_reach:
        now = runtime.clock.now()
        # The account's own days, and the UTC days a frontend may ask for when they differ.
        todays = dict.fromkeys([account_today(account.time_zone, now), now.astimezone(UTC).date()])
        windows = list(dict.fromkeys(w for today in todays for w in standard_reach_windows(today)))
        if spec.reports_reach:
            for reach_window in windows:
                reach[reach_window] = await connector.period_reach(reach_window)
        figures = await connector.window_figures(windows, account)
    renewable = spec.auth.refreshes and ctx.credentials.refresh_token is not None
    return FetchedWindow(
        account,
        days,
        reach,
        window,
        metric_days=_catalogued(spec, metric_days, figures),
        window_figures=figures,
        credentials_expire_at=ctx.credentials.expires_at,
        credentials_renewable=renewable,
        ad_days=ad_days,
    )


def ads_window(window: DateRange, reread_days: int) -> DateRange:
    """The days whose ads a newest window reads: the window, widened to the platform's re-read days before its end
    (a backfill's newest slice may be a short remainder)."""
    return DateRange(min(window.start, window.end - timedelta(days=reread_days - 1)), window.end)


def _catalogued(spec: PlatformSpec[Any], metric_days: list[MetricDay], figures: list[WindowFigure]) -> list[MetricDay]:
    """The connector's account metrics, refused whole if one is not in the platform's catalogue."""
    known = {m.key for m in spec.metrics}
    stray = sorted({d.metric_key for d in metric_days} - known | {f.metric_key for f in figures} - known)
    if stray:
        raise PlatformError(f"{spec.name} connector gave metrics outside its catalogue: {', '.join(stray)}")
    return metric_days


async def store_window(session: AsyncSession, ref: ConnectionRef, fetched: FetchedWindow, window: DateRange) -> int:
    """Upsert a fetched window; days outside the platform's re-read window are final. Returns rows written."""
    campaign_days, account_metrics = CampaignDayRepository(session), AccountMetricRepository(session)
    period_reach = PeriodReachRepository(session)
    spec = ref.spec
    account = StoredAccount(ref.id, ref.client_id, ref.platform, fetched.account.time_zone)
    cutoff = final_before(spec.reread_days, account_today(fetched.account.time_zone))
    catalogue = {m.key: m for m in spec.metrics}
    breakdowns = MetricBreakdownRepository(session)
    written = await campaign_days.upsert(account, fetched.days, final_before=cutoff)
    written += await account_metrics.store(
        account, catalogue, [d for d in fetched.metric_days if d.breakdown is None], final_before=cutoff
    )
    written += await breakdowns.store(account, fetched.metric_days, final_before=cutoff)
    written += await MetricWindowRepository(session).store(account, catalogue, fetched.window_figures)
    ads = AdDayRepository(session)
    # Ad rows hold the same sums again, per ad: they count neither in the metric nor in a backfill's progress.
    await ads.upsert(account, fetched.ad_days, final_before=cutoff)
    rows_written(session, ref.platform, written)
    await account_metrics.refresh(account, spec.metrics, window.start, window.end, final_before=cutoff)
    await campaign_days.mark_final(ref.id, cutoff)
    await account_metrics.mark_final(ref.id, cutoff)
    await breakdowns.mark_final(ref.id, cutoff)
    await ads.mark_final(ref.id, cutoff)
    for reach_window, reach in fetched.reach.items():
        await period_reach.upsert(account, reach_window.start, reach_window.end, reach)
    await session.execute(
        update(Connection)
        .where(Connection.id == ref.id)
        .values(
            currency=fetched.account.currency,
            time_zone=fetched.account.time_zone,
            account_name=fetched.account.name,
            last_synced_at=datetime.now(UTC),
            throttled_until=None,
            credentials_expire_at=fetched.credentials_expire_at,
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


async def mark_throttled(session: AsyncSession, connection_id: str, until: datetime, message: str) -> None:
    """The platform asked this connection's work to wait: it stays connected, with the time it resumes."""
    await session.execute(
        update(Connection)
        .where(Connection.id == connection_id)
        .values(status=ConnectionStatus.CONNECTED.value, throttled_until=until, status_message=message)
    )
