"""Gorgias (REST API of one helpdesk, ``https://{subdomain}.gorgias.com/api/``, HTTP Basic with the
login email and an API key).

Three cursor-paginated scans, newest first, each stopping at the first page that reaches back past
what the window needs, so no ticket costs a request of its own:

- ``GET /api/tickets?order_by=updated_datetime:desc`` back to the window's first instant. A ticket
  created or closed inside the window was updated at or after that instant, so tickets created long
  before the window and closed inside it are read too. Limits: a ticket closed inside the window and
  reopened since has lost that close (Gorgias keeps the latest one), and a ticket updated while the
  scan runs moves ahead of the cursor and can be missed; each sync re-reads the recent days, which
  repairs the latter.
- ``GET /api/messages?order_by=created_datetime:desc`` back to the same instant, only when tickets were
  created in the window: every message of those tickets is at or after it, so each one's first reply
  is found from the list.
- ``GET /api/satisfaction-surveys?order_by=created_datetime:desc`` back to ``SURVEY_ANSWER_DAYS`` before
  the window: a survey is created when its ticket closes and answered later; an answer given more
  than that long after the survey was created is not counted.

Rate limit (Gorgias "Limitations"): a leaky bucket of 40 calls per 20 seconds for API-key
integrations. Every answer carries ``X-Gorgias-Account-Api-Call-Limit: <used>/<limit>``; the
connector slows down before the bucket is full (``PACE_RESERVE`` calls left), and a 429 names its
wait in ``Retry-after`` (seconds).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    ConnectorDefaults,
    PlatformError,
    ReconnectRequired,
    Throttled,
    Transient,
    call_with_retries,
    json_body,
    retry_after_seconds,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, MetricDay
from clientpulse.results_ingest.platforms.gorgias.support_days import (
    parse_instant,
    parse_message,
    parse_survey,
    parse_ticket,
    support_days,
    window_start_instant,
)

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.gorgias import GorgiasSettings

PLATFORM_KEY = "gorgias"
PAGE_SIZE = 100  # the largest page Gorgias serves
CALL_LIMIT_HEADER = "X-Gorgias-Account-Api-Call-Limit"
# The bucket leaks its whole size over this many seconds (API-key integrations: 40 per 20 s).
LEAK_WINDOW_SECONDS = 20.0
# Calls kept in hand: past this, each further call waits for the bucket to leak.
PACE_RESERVE = 4
# How long after its survey was created an answer is still looked for.
SURVEY_ANSWER_DAYS = 30
BUSINESS_HOURS_SETTING = "business-hours"
DEFAULT_TIME_ZONE = "UTC"


def call_budget(headers: httpx.Headers) -> tuple[int, int] | None:
    """(calls used, bucket size) from ``X-Gorgias-Account-Api-Call-Limit: 10/40``, if present."""
    used, _, limit = (headers.get(CALL_LIMIT_HEADER) or "").partition("/")
    try:
        return int(used), int(limit)
    except ValueError:
        return None


def pacing_wait(used: int, limit: int) -> float:
    """Seconds to wait before the next call so the bucket keeps ``PACE_RESERVE`` calls free."""
    if limit <= 0:
        return 0.0
    over = used - (limit - PACE_RESERVE)
    return max(0, over) * LEAK_WINDOW_SECONDS / limit


def _platform_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        found = body.get("error") or body.get("message") or ""
        return str(found.get("msg") or found.get("message") or found) if isinstance(found, dict) else str(found)
    return ""


def interpret(response: httpx.Response) -> dict[str, Any]:
    """A Gorgias answer as its body, or the error it means."""
    status, path = response.status_code, response.request.url.path
    said = _platform_message(response)
    if status == 429:
        raise Throttled(f"Gorgias answered 429 on {path}", retry_after_seconds(response))
    if status >= 500:
        raise Transient(f"Gorgias answered {status} on {path}")
    if status == 401:
        raise ReconnectRequired(f"Gorgias refused the login email or API key (401): {said or 'unauthorized'}")
    if status == 403:
        raise PlatformError(
            f"Gorgias refused {path} (403): the API key's user may not read it; give that user access "
            f"to tickets, messages, satisfaction surveys and the account settings ({said or 'forbidden'})"
        )
    if status == 404:
        raise PlatformError(f"Gorgias has no {path} (404): check the helpdesk subdomain")
    if status >= 400:
        raise PlatformError(f"Gorgias answered {status} on {path}: {said}")
    body = json_body(response, "Gorgias")
    if not isinstance(body, dict):
        raise Transient(f"Gorgias answered {path} without a JSON object")
    return body


def account_time_zone(account: dict[str, Any]) -> str:
    """The account's time zone: the business-hours setting's, else UTC (Gorgias's own default)."""
    for setting in account.get("settings") or []:
        if isinstance(setting, dict) and setting.get("type") == BUSINESS_HOURS_SETTING:
            zone = (setting.get("data") or {}).get("timezone")
            if isinstance(zone, str) and zone:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    return DEFAULT_TIME_ZONE
                return zone
    return DEFAULT_TIME_ZONE


def reaches_back_past(page: list[dict[str, Any]], field: str, horizon: datetime) -> bool:
    """Whether a newest-first page ends before ``horizon`` (the older pages are not needed)."""
    if not page:
        return True
    oldest = parse_instant(page[-1].get(field))
    return oldest is not None and oldest < horizon


class GorgiasConnector(ConnectorDefaults):
    """One Gorgias helpdesk."""

    def __init__(self, ctx: ConnectorContext, settings: GorgiasSettings, subdomain: str, email: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.subdomain = subdomain
        self.email = email
        self.root = f"{settings.base_url.format(subdomain=subdomain).rstrip('/')}/api"
        self.budget: tuple[int, int] | None = None

    def _authorization(self) -> str:
        pair = f"{self.email}:{self.ctx.credentials.access_token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    async def _pace(self) -> None:
        if self.budget is not None:
            wait = pacing_wait(*self.budget)
            if wait > 0:
                self.budget = None  # the wait is what the bucket needed; the next answer says anew
                await self.ctx.sleep(wait)

    async def _get(self, path: str, params: dict[str, str], what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            await self._pace()
            response = await self.ctx.http.get(
                f"{self.root}/{path}",
                params=params,
                headers={"Authorization": self._authorization(), "Accept": "application/json"},
            )
            # A 429's Retry-after already is the wait the bucket needs: it is not added to.
            self.budget = None if response.status_code == 429 else call_budget(response.headers)
            return response

        return await call_with_retries(self.ctx, send, interpret, None, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]

    async def _scan(self, path: str, order_field: str, horizon: datetime, what: str) -> list[dict[str, Any]]:
        """Every item of a newest-first list back to ``horizon`` (and the rest of the page that reaches it)."""
        items: list[dict[str, Any]] = []
        params = {"order_by": f"{order_field}:desc", "limit": str(PAGE_SIZE)}
        while True:
            body = await self._get(path, params, what)
            page = [item for item in body.get("data") or [] if isinstance(item, dict)]
            items.extend(page)
            cursor = (body.get("meta") or {}).get("next_cursor")
            if not cursor or reaches_back_past(page, order_field, horizon):
                return items
            params = {**params, "cursor": str(cursor)}

    async def account_info(self) -> AccountInfo:
        account = await self._get("account", {}, "Gorgias account")
        name = str(account.get("domain") or self.subdomain)
        return AccountInfo(self.subdomain, name, self.settings.account_currency, account_time_zone(account))

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        start = window_start_instant(window, account.time_zone)
        tickets = _parsed(await self._scan("tickets", "updated_datetime", start, "Gorgias tickets"), parse_ticket)
        created_here = {t.ticket_id for t in tickets if t.created >= start}
        messages = []
        if created_here:
            raw = await self._scan("messages", "created_datetime", start, "Gorgias messages")
            messages = [m for m in _parsed(raw, parse_message) if m.ticket_id in created_here]
        since = start - timedelta(days=SURVEY_ANSWER_DAYS)
        surveys = _parsed(
            await self._scan("satisfaction-surveys", "created_datetime", since, "Gorgias satisfaction surveys"),
            parse_survey,
        )
        return support_days(window, account.time_zone, tickets, messages, surveys)


T = TypeVar("T")


def _parsed(items: list[dict[str, Any]], parse: Callable[[dict[str, Any]], T | None]) -> list[T]:
    """Parsed items, each id once (a page boundary moved by an update can repeat one)."""
    seen: set[Any] = set()
    out: list[T] = []
    for item in items:
        if item.get("id") in seen:
            continue
        seen.add(item.get("id"))
        parsed = parse(item)
        if parsed is not None:
            out.append(parsed)
    return out
