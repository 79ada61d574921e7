"""GA4 (Google Analytics Data API v1beta): one property's daily traffic by channel group, and its
users per window.

The daily report asks for ``date`` × ``sessionDefaultChannelGroup`` with sessions, engaged sessions,
new users, key events (``keyEvents``: ``conversions`` was retired for it), transactions and purchase
revenue, page by page (``limit``/``offset`` until ``rowCount``). Every session belongs to one channel
group, so the property's day is the sum of its groups. Users are people: ``totalUsers`` is asked for
each whole window (several windows per request), never added up over days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    Misconfigured,
    MustWait,
    PlatformError,
    ReconnectRequired,
    Throttled,
    TokenExpired,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
    wait_until_seconds,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay, WindowFigure
from clientpulse.results_ingest.domain.windows import slices
from clientpulse.results_ingest.platforms.ga4.auth import PLATFORM_KEY, refresh_access_token
from clientpulse.results_ingest.platforms.ga4.quota import exhausted_quota, low_quota, quota_wait_seconds
from clientpulse.results_ingest.platforms.ga4.report import (
    CHANNEL_GROUP,
    DAILY_METRICS,
    DATE,
    WINDOW_METRIC,
    ReportPage,
    missing_windows,
    parse_report,
    traffic_days,
    window_users,
)

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.ga4 import GA4Settings

API_VERSION = "v1beta"
# One daily report per slice of at most this many days (one request plus its pages).
DAILY_REPORT_DAYS = 30
# A report takes at most four date ranges; a batch at most five reports.
RANGES_PER_REPORT = 4
REPORTS_PER_BATCH = 5
# A refused request whose answer names one of these reasons (google.rpc.ErrorInfo).
OUR_PROJECT_REASONS = frozenset({"SERVICE_DISABLED", "API_KEY_INVALID", "CONSUMER_INVALID", "BILLING_DISABLED"})
MISSING_SCOPE_REASONS = frozenset({"ACCESS_TOKEN_SCOPE_INSUFFICIENT"})


def _reasons(error: dict[str, Any]) -> set[str]:
    details = error.get("details")
    return {str(d.get("reason")) for d in details if isinstance(d, dict)} if isinstance(details, list) else set()


def _refusal(status_code: int, error: dict[str, Any]) -> Exception:
    """What a refused GA4 request means for the connection.

    401: the access token expired (refreshed once). 403 because our Google Cloud project cannot call
    the API (the Data API not enabled): our misconfiguration. 403 because the grant lacks the
    Analytics scope: a person must consent again. Any other 403 is the Google user having lost
    access to the property: the connection is in error (a property admin can grant access again and
    the same connection works), not expired.
    """
    message = str(error.get("message") or f"GA4 answered {status_code}")
    reasons = _reasons(error)
    if status_code == 401 or error.get("status") == "UNAUTHENTICATED":
        return TokenExpired(message)
    if reasons & OUR_PROJECT_REASONS or "has not been used in project" in message:
        return Misconfigured(message)
    if reasons & MISSING_SCOPE_REASONS or "insufficient authentication scopes" in message.lower():
        return ReconnectRequired(message)
    return PlatformError(message)


def interpret(response: httpx.Response, now: datetime) -> dict[str, Any]:
    """A GA4 answer as its body, or the error it means (quota exhaustion is 429 ``RESOURCE_EXHAUSTED``,
    waited out for as long as the quota that ran out takes to return)."""
    if response.status_code >= 500:
        raise Transient(f"GA4 answered {response.status_code}")
    body = json_body(response, "GA4")
    if not isinstance(body, dict):
        raise Transient("GA4 answered with a body that is not an object")
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if response.status_code == 429 or (error is not None and error.get("status") == "RESOURCE_EXHAUSTED"):
        message = str((error or {}).get("message") or "GA4 answered 429")
        kind = exhausted_quota(message)
        wait = quota_wait_seconds(kind, now)
        raise Throttled(message, wait if wait is not None else retry_after_seconds(response), signal=f"ga4_{kind}")
    if error is not None or response.status_code >= 400:
        raise _refusal(response.status_code, error or {})
    return body


def daily_request(window: DateRange) -> dict[str, Any]:
    """The daily report of a window: each day's figures per channel group, in a stable order for paging."""
    return {
        "dateRanges": [{"startDate": window.start.isoformat(), "endDate": window.end.isoformat()}],
        "dimensions": [{"name": DATE}, {"name": CHANNEL_GROUP}],
        "metrics": [{"name": name} for name in DAILY_METRICS],
        "orderBys": [{"dimension": {"dimensionName": DATE}}, {"dimension": {"dimensionName": CHANNEL_GROUP}}],
        # Days and groups without a single event add nothing; the days are filled with zeros here.
        "keepEmptyRows": False,
        "returnPropertyQuota": True,
    }


def users_request(ranges: dict[str, DateRange], *, by_channel: bool) -> dict[str, Any]:
    """Users over up to four named windows, for the property or per channel group."""
    return {
        "dateRanges": [
            {"startDate": w.start.isoformat(), "endDate": w.end.isoformat(), "name": name} for name, w in ranges.items()
        ],
        "dimensions": [{"name": CHANNEL_GROUP}] if by_channel else [],
        "metrics": [{"name": WINDOW_METRIC}],
        "orderBys": [{"dimension": {"dimensionName": CHANNEL_GROUP}}] if by_channel else [],
        "keepEmptyRows": False,
        "returnPropertyQuota": True,
    }


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class GA4Connector(ConnectorDefaults):
    """One GA4 property (its numeric id)."""

    def __init__(self, ctx: ConnectorContext, settings: GA4Settings, property_id: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.property_id = property_id.removeprefix("properties/")
        self.data_root = f"{settings.data_url.rstrip('/')}/{API_VERSION}/properties/{self.property_id}"
        self.admin_url = f"{settings.admin_url.rstrip('/')}/{API_VERSION}/properties/{self.property_id}"
        # Quotas are the property's: every worker reading it stops short of exhausting them.
        self.pause_scope = f"{PLATFORM_KEY}.property.{self.property_id}"

    async def refresh(self) -> None:
        """A new access token from the refresh token, stored before it is used."""
        await self.ctx.renew(lambda credentials: refresh_access_token(self.ctx, self.settings, credentials))

    async def _respect_quota_pause(self, what: str) -> None:
        until = await self.ctx.pauses.until(self.pause_scope)
        wait = wait_until_seconds(until, self.ctx.clock)
        if wait is None or until is None:
            return
        if wait > self.ctx.policy.max_wait:
            message = f"{what}: the property's quota reserve is kept until {until.isoformat()}"
            raise MustWait(message, until, signal="ga4_reserve")
        await self.ctx.sleep(wait)

    async def _note_quota(self, page: ReportPage) -> None:
        """Pause the property's reports when a token quota is down to its reserve."""
        found = low_quota(page.quota, self.settings.quota_reserve_share, self.ctx.clock.now())
        if found is not None:
            pause, status = found
            await self.ctx.pauses.pause(self.pause_scope, pause.until, pause.reason(status.remaining, status.limit))

    async def _call(self, method: str, url: str, payload: dict[str, Any] | None, what: str) -> dict[str, Any]:
        await self._respect_quota_pause(what)

        async def send() -> httpx.Response:
            headers = {"Authorization": f"Bearer {self.ctx.credentials.access_token}"}
            if method == "GET":
                return await self.ctx.http.get(url, headers=headers)
            return await self.ctx.http.post(url, json=payload, headers=headers)

        def read(response: httpx.Response) -> dict[str, Any]:
            return interpret(response, self.ctx.clock.now())

        try:
            return await call_with_retries(self.ctx, send, read, self.refresh, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]
        except TokenExpired as exc:
            raise ReconnectRequired(str(exc)) from exc

    async def _run_report(self, request: dict[str, Any], offset: int) -> ReportPage:
        payload = {**request, "limit": self.settings.page_size, "offset": offset}
        page = parse_report(await self._call("POST", f"{self.data_root}:runReport", payload, "GA4 report"))
        await self._note_quota(page)
        return page

    async def _rest_of_report(self, request: dict[str, Any], first: ReportPage) -> list[dict[str, str]]:
        """The rows after a report's first page, page by page until ``rowCount`` rows were read."""
        rows, page = list(first.rows), first
        while page.rows and len(rows) < first.row_count:
            page = await self._run_report(request, len(rows))
            rows.extend(page.rows)
        return rows

    async def report_rows(self, request: dict[str, Any]) -> list[dict[str, str]]:
        """Every row of a report."""
        return await self._rest_of_report(request, await self._run_report(request, 0))

    async def account_info(self) -> AccountInfo:
        body = await self._call("GET", self.admin_url, None, "GA4 property")
        if not body.get("currencyCode") or not body.get("timeZone"):
            raise PlatformError(f"GA4 property {self.property_id} states no currency or time zone")
        return AccountInfo(self.property_id, body.get("displayName"), str(body["currencyCode"]), str(body["timeZone"]))

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        days: list[MetricDay] = []
        for part in slices(window, DAILY_REPORT_DAYS):
            days.extend(traffic_days(await self.report_rows(daily_request(part)), part, account.currency))
        return days

    async def window_figures(self, windows: Sequence[DateRange], account: AccountInfo) -> list[WindowFigure]:
        # Date range names may not start with "date_range_" or "RESERVED_".
        named = [{f"w{i}": w for i, w in chunk} for chunk in _chunks(list(enumerate(windows)), RANGES_PER_REPORT)]
        reports = [(ranges, by_channel) for ranges in named for by_channel in (False, True)]
        figures: list[WindowFigure] = []
        for batch in _chunks(reports, REPORTS_PER_BATCH):
            requests = [users_request(ranges, by_channel=by_channel) for ranges, by_channel in batch]
            payload = {"requests": [{**r, "limit": self.settings.page_size, "offset": 0} for r in requests]}
            body = await self._call("POST", f"{self.data_root}:batchRunReports", payload, "GA4 users per window")
            answers = body.get("reports") or []
            if len(answers) != len(requests):
                raise PlatformError(f"GA4 answered {len(answers)} reports for {len(requests)} asked")
            for (ranges, by_channel), request, answer in zip(batch, requests, answers, strict=True):
                first = parse_report(answer)
                await self._note_quota(first)
                rows = await self._rest_of_report(request, first)
                figures.extend(window_users(rows, ranges, by_channel=by_channel))
        return figures + missing_windows(figures, windows)
