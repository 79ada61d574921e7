"""What every connector shares: credentials, the error vocabulary and the retry policy."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import (
    AccountChoice,
    AccountInfo,
    AdCreativeDay,
    CampaignDay,
    MetricDay,
    WindowFigure,
)
from clientpulse.results_ingest.metrics import observe_connector_request
from clientpulse.results_ingest.pauses import LocalPauses, SharedPauses

_log = logging.getLogger("clientpulse.results_ingest.connectors")


@dataclass(slots=True)
class Credentials:
    """A connection's secret material (decrypted only in memory, never logged)."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None

    def to_secret(self) -> dict[str, Any]:
        """The JSON object that is encrypted at rest."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> Credentials:
        """Credentials from their decrypted JSON object."""
        expires = secret.get("expires_at")
        return cls(
            access_token=str(secret["access_token"]),
            refresh_token=secret.get("refresh_token"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


class PlatformError(Exception):
    """The platform refused the request for good (bad account, bad query): the connection is in error."""


class TokenExpired(PlatformError):
    """The access token is expired or revoked (the platform's own message is the text)."""


class ReconnectRequired(PlatformError):
    """The token is dead and cannot be refreshed: a person must connect the account again."""


class Misconfigured(PlatformError):
    """The platform refused *our* side (a wrong OAuth client id or secret, a revoked developer token).

    Connecting the account again would not help, and every connection of the platform is affected:
    the connection shows the platform's message, and it is not marked expired.
    """


class Throttled(Exception):
    """The platform asked to slow down; ``wait`` is how long it said to wait (seconds), if it said.

    ``signal`` is how it said so, for the metrics: ``http_429``, or the platform's own code
    (``meta_80000``, ``google_resource_exhausted``, ``tiktok_40100``).
    """

    def __init__(self, message: str, wait: float | None = None, *, signal: str = "http_429") -> None:
        super().__init__(message)
        self.wait = wait
        self.signal = signal


class Transient(Exception):
    """A failure worth retrying: 5xx, a dropped connection, a body cut short."""


class GaveUp(Exception):
    """Retries ran out: try later."""


class MustWait(Exception):
    """The platform asked for a wait longer than one request may sleep: the work resumes at ``until``.

    Not an error: sync leaves the connection connected with ``throttled_until`` set, and a backfill
    slice is redelivered at that time while the rest of the backfill goes on.
    """

    def __init__(self, message: str, until: datetime, *, signal: str) -> None:
        super().__init__(message)
        self.until = until
        self.signal = signal


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a connector retries one request: attempts, exponential base wait, longest wait honoured."""

    attempts: int = 6
    base_wait: float = 1.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential wait with jitter for a retry that got no hint from the platform."""
        return min(self.max_wait, self.base_wait * (2**attempt)) * (0.5 + random.random() / 2)


Sleep = Callable[[float], Awaitable[None]]


class Clock:
    """Wall-clock time and sleeping; tests replace it to make a platform's long waits short."""

    def now(self) -> datetime:
        """The current time (UTC)."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        await asyncio.sleep(seconds)

    def real_seconds(self, seconds: float) -> float:
        """How many seconds of real time ``seconds`` of this clock's time take (a redelivery delay)."""
        return seconds


class ScaledClock(Clock):
    """A clock running ``factor`` times faster than real time (tests: an hour's wait takes seconds)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._real_start = time.monotonic()
        self._start = datetime.now(UTC)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._real_start) * self.factor)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.factor)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.factor


OnRefresh = Callable[[Credentials], Awaitable[None]]
Renew = Callable[["Credentials"], Awaitable["Credentials"]]
Exclusive = Callable[["Credentials", Renew], Awaitable["Credentials"]]


@dataclass(slots=True)
class ConnectorContext:
    """What a connector needs besides its platform's settings: HTTP, credentials and how to keep new ones."""

    http: httpx.AsyncClient
    credentials: Credentials
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Called with refreshed credentials before they are used: rotated refresh tokens must be stored
    # at once (in their own transaction), or the next run holds a spent one.
    on_refresh: OnRefresh | None = None
    # Renews credentials under the connection's lock: given the credentials in hand and a function that
    # renews stored ones, it returns the stored ones if another worker already renewed them.
    exclusive: Exclusive | None = None
    clock: Clock = field(default_factory=Clock)
    # Pauses every worker of every replica honours (a platform's app-wide limit).
    pauses: SharedPauses = field(default_factory=LocalPauses)

    async def sleep(self, seconds: float) -> None:
        """Wait, on the context's clock."""
        await self.clock.sleep(seconds)

    async def renew(self, renew: Renew) -> None:
        """Replace the credentials in hand with renewed ones, stored before they are used."""
        if self.exclusive is not None:
            self.credentials = await self.exclusive(self.credentials, renew)
            return
        renewed = await renew(self.credentials)
        if self.on_refresh is not None:
            await self.on_refresh(renewed)
        self.credentials = renewed


def request_outcome(exc: Exception, response: httpx.Response | None) -> str:
    """How a request failed, in the words of the connector metrics."""
    if isinstance(exc, Throttled):
        return "throttled"
    if isinstance(exc, TokenExpired | ReconnectRequired):
        return "auth_error"
    if isinstance(exc, PlatformError):
        return "client_error"
    if response is None:
        return "transport_error"
    return "server_error"  # Transient (5xx, a transient platform error, a body cut short) or unreadable


async def _attempt(
    send: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], Any],
    *,
    platform: str,
    what: str,
) -> Any:
    """Send one request and interpret its answer, counted and timed by outcome."""
    started = time.perf_counter()
    response: httpx.Response | None = None
    try:
        try:
            response = await send()
        except httpx.TransportError as exc:
            raise Transient(f"{what}: {type(exc).__name__}: {exc}") from exc
        result = interpret(response)
    except Exception as exc:
        signal = exc.signal if isinstance(exc, Throttled) else None
        observe_connector_request(platform, request_outcome(exc, response), time.perf_counter() - started, signal)
        raise
    observe_connector_request(platform, "ok", time.perf_counter() - started)
    return result


async def call_with_retries(
    ctx: ConnectorContext,
    send: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], Any],
    refresh: Callable[[], Awaitable[None]] | None,
    *,
    what: str,
    platform: str,
) -> Any:
    """Send a request until it succeeds, honouring throttling hints; refresh the token once if it expired.

    A wait the platform names that is longer than ``policy.max_wait`` is not slept through here: it
    leaves as ``MustWait`` so the work is resumed at that time instead of holding a worker.
    """
    refreshed = False
    attempt = 0
    while True:
        try:
            return await _attempt(send, interpret, platform=platform, what=what)
        except TokenExpired:
            if refresh is None or refreshed:
                raise
            refreshed = True
            await refresh()
            continue
        except (Throttled, Transient) as exc:
            hinted = exc.wait if isinstance(exc, Throttled) else None
            if isinstance(exc, Throttled) and hinted is not None and hinted > ctx.policy.max_wait:
                raise MustWait(
                    f"{what}: {exc}", ctx.clock.now() + timedelta(seconds=hinted), signal=exc.signal
                ) from exc
            if attempt + 1 >= ctx.policy.attempts:
                raise GaveUp(f"{what}: still failing after {ctx.policy.attempts} attempts: {exc}") from exc
            wait = hinted if hinted is not None else ctx.policy.backoff(attempt)
            _log.warning("%s: %s; retrying in %.2fs", what, exc, wait)
            await ctx.sleep(wait)
            attempt += 1


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, if the response has a numeric one."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def token_endpoint_error(platform: str, response: httpx.Response, body: Mapping[str, Any] | None) -> Exception:
    """What an OAuth 2 token endpoint's refusal means (RFC 6749 §5.2 error codes).

    Only a dead grant (``invalid_grant``: the refresh token or code is expired or revoked) needs a
    person to connect again. A throttle or a server error is retried; ``invalid_client`` and
    ``unauthorized_client`` are our own misconfiguration, which reconnecting would not fix. The
    platform's own message is kept.
    """
    error = str((body or {}).get("error") or "")
    message = str((body or {}).get("error_description") or error or f"answered {response.status_code}")
    text = f"{platform} token endpoint: {message}"
    if response.status_code == 429 or error in {"rate_limit_exceeded", "slow_down"}:
        return Throttled(text, retry_after_seconds(response), signal="token_http_429")
    if response.status_code >= 500 or error == "temporarily_unavailable":
        return Transient(text)
    if error == "invalid_grant":
        return ReconnectRequired(text)
    if error in {"invalid_client", "unauthorized_client"}:
        return Misconfigured(text)
    return PlatformError(text)


def wait_until_seconds(until: datetime | None, clock: Clock) -> float | None:
    """Seconds from now until ``until`` on ``clock`` (``None`` when it has passed)."""
    if until is None:
        return None
    seconds = (until - clock.now()).total_seconds()
    return math.ceil(seconds * 1000) / 1000 if seconds > 0 else None


def json_body(response: httpx.Response, what: str) -> Any:
    """The response's JSON, or ``Transient`` when the body is cut short or not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise Transient(f"{what}: the platform sent a body that is not JSON ({len(response.content)} bytes)") from exc


class PlatformConnector(Protocol):
    """What sync and backfill need from a platform's connector (one account).

    An advertising platform gives campaign rows (the account metrics are derived from them) and
    reach; a store, email, analytics, helpdesk, loyalty or subscription platform gives account
    metrics directly (``metric_days``) and, for people counted per window, ``window_figures``.
    ``ConnectorDefaults`` answers "nothing" for what a platform does not have.
    """

    async def account_info(self) -> AccountInfo:
        """The account's name, currency and time zone (also what "test connection" calls)."""
        ...

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        """Every campaign's sums for each day in the window (account-local days)."""
        ...

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        """Each campaign's (reach, impressions) over the whole window, where the platform reports reach."""
        ...

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        """The account's metrics for each day in the window (account-local days), zeros included."""
        ...

    async def window_figures(self, windows: Sequence[DateRange], account: AccountInfo) -> list[WindowFigure]:
        """The platform's own counts of people over each of these whole windows (the standard windows)."""
        ...

    async def accessible_accounts(self) -> list[AccountChoice]:
        """The accounts these credentials reach (what a person picks from); empty if the platform cannot list."""
        ...

    async def ad_creatives(self, window: DateRange, account: AccountInfo) -> list[AdCreativeDay]:
        """Each ad's copy (headlines, primary texts) and its sums for each day it delivered in the window."""
        ...


class ConnectorDefaults:
    """What a connector answers for what its platform does not have: nothing, without a request."""

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        """No campaigns."""
        return []

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        """No reach."""
        return {}

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        """No account metrics of its own (an ad platform's come from its campaign rows)."""
        return []

    async def window_figures(self, windows: Sequence[DateRange], account: AccountInfo) -> list[WindowFigure]:
        """No people counted per window."""
        return []

    async def accessible_accounts(self) -> list[AccountChoice]:
        """The platform cannot list accounts."""
        return []

    async def ad_creatives(self, window: DateRange, account: AccountInfo) -> list[AdCreativeDay]:
        """No ads with copy."""
        return []
