"""Recharge (REST API version 2021-11): the store, its subscriptions and its charges.

Lists are cursor-paginated: the first page is asked with the filters, every further page with only
``cursor`` (and ``limit``), as the 2021-11 API requires; the cursor carries the filters.

Which subscriptions are read: the active level of a day needs every subscription that was active at
some point in the window, not only those changed in it. A subscription is active now, or it ended
(cancelled or expired); one that ended on or after the window's first day was last updated then or
later. So a read asks for every subscription with status ``active`` created before the window's end,
and the ``cancelled`` and ``expired`` ones updated since the window's start: its cost is the store's
active subscriptions plus those that ended since then, at 250 per request, never the whole history
of cancelled ones. Charges are asked for by ``processed_at`` over the window.

Filters are sent as UTC times a day wider than the window on each side (Recharge does not say in
which zone it reads a time without an offset); the records are then placed on the store's own days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
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
from clientpulse.results_ingest.platforms.recharge.pacing import LeakyBucket
from clientpulse.results_ingest.platforms.recharge.subscription_days import (
    CollectedCharge,
    SubscriptionSpan,
    charge_metric_days,
    collected_charge,
    subscription_metric_days,
    subscription_span,
)

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.recharge import RechargeSettings

PLATFORM_KEY = "recharge"
LIMIT_HEADER = "X-Recharge-Limit"
# Recharge names no wait on a 429: its bucket leaks 2 requests a second, so 2 s frees a few.
THROTTLE_WAIT_SECONDS = 2.0
FILTER_MARGIN = timedelta(days=1)
FILTER_FORMAT = "%Y-%m-%dT%H:%M:%S"


def errors_text(body: Any) -> str:
    """Recharge's ``errors`` (a string, a list, or field → messages) as one line."""
    errors = body.get("errors", body.get("error", body.get("warning"))) if isinstance(body, dict) else body
    if isinstance(errors, dict):
        return "; ".join(f"{field}: {errors_text({'errors': text})}" for field, text in errors.items())
    if isinstance(errors, list):
        return "; ".join(map(str, errors))
    return str(errors) if errors else ""


def _refusal_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def is_cut_short(response: httpx.Response) -> bool:
    """Whether a body is shorter than the ``Content-Length`` Recharge announced (a truncated answer)."""
    announced = response.headers.get("Content-Length")
    if announced is None or response.headers.get("Content-Encoding"):
        return False
    try:
        return int(announced) > len(response.content)
    except ValueError:
        return False


def interpret(response: httpx.Response) -> dict[str, Any]:
    """A Recharge answer as its JSON body, or the error it means.

    429 is the full bucket; 401 and 403 an invalid or revoked token or a missing scope (a person must
    paste a new token); 409 another call to the same route still running; 5xx and bodies cut short
    are retried.
    """
    status = response.status_code
    if status == 429:
        named = retry_after_seconds(response)
        wait = THROTTLE_WAIT_SECONDS if named is None else named
        raise Throttled("Recharge answered 429 (the request bucket is full)", wait)
    if status in (401, 403):
        text = errors_text(_refusal_body(response)) or f"answered {status}"
        raise ReconnectRequired(f"Recharge refused the API token ({status}): {text}")
    if status == 409 or status >= 500:
        raise Transient(f"Recharge answered {status}: {errors_text(_refusal_body(response))}")
    if status >= 400:
        raise PlatformError(f"Recharge answered {status}: {errors_text(_refusal_body(response))}")
    if is_cut_short(response):
        raise Transient(f"Recharge sent {len(response.content)} of {response.headers['Content-Length']} bytes")
    body = json_body(response, "Recharge")
    if not isinstance(body, dict):
        raise Transient("Recharge answered with a body that is not a JSON object")
    return body


def store_handles(store: Mapping[str, Any]) -> set[str]:
    """What a person may give as the store's account id: its Recharge id or its shop handle."""
    handles = {str(store.get("id"))}
    for field in ("my_shopify_domain", "domain", "platform_domain"):
        value = store.get(field)
        if value:
            handles.add(str(value).split(".", 1)[0].lower())
    return handles


def filter_time(moment: datetime) -> str:
    """A list filter's time, in UTC, in the form Recharge documents (no offset)."""
    return moment.astimezone(UTC).strftime(FILTER_FORMAT)


def window_bounds(window: DateRange, zone: ZoneInfo) -> tuple[str, str]:
    """The filter times that surely cover the window's store-local days."""
    start = datetime.combine(window.start, time.min, zone) - FILTER_MARGIN
    end = datetime.combine(window.end, time.max, zone) + FILTER_MARGIN
    return filter_time(start), filter_time(end)


class RechargeConnector(ConnectorDefaults):
    """One Recharge store, read with its API token."""

    def __init__(self, ctx: ConnectorContext, settings: RechargeSettings, account_id: str) -> None:
        self.ctx = ctx
        self.settings = settings
        self.root = settings.base_url.rstrip("/")
        self.account_id = account_id
        self.bucket = LeakyBucket(ctx.clock, size=settings.bucket_size, leak_per_second=settings.leak_per_second)

    async def _get(self, path: str, params: Mapping[str, str], what: str) -> dict[str, Any]:
        async def send() -> httpx.Response:
            wait = self.bucket.wait_before_request()
            if wait > 0:
                await self.ctx.sleep(wait)
            self.bucket.sent()
            response = await self.ctx.http.get(
                f"{self.root}/{path}",
                params=dict(params),
                headers={
                    "X-Recharge-Access-Token": self.ctx.credentials.access_token,
                    "X-Recharge-Version": self.settings.api_version,
                    "Accept": "application/json",
                },
            )
            self.bucket.observe(response.headers.get(LIMIT_HEADER))
            if response.status_code == 429 and LIMIT_HEADER not in response.headers:
                self.bucket.observe(f"{self.bucket.size}/{self.bucket.size}")
            return response

        return await call_with_retries(self.ctx, send, interpret, None, what=what, platform=PLATFORM_KEY)  # type: ignore[no-any-return]

    async def list_all(self, resource: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every record of a list endpoint matching ``filters``, page by page.

        Only the first request carries the filters; the next ones send just ``cursor`` and ``limit``.
        """
        limit = str(self.settings.page_size)
        params: dict[str, str] = {**filters, "limit": limit}
        records: list[dict[str, Any]] = []
        seen_cursors: set[str] = set()
        while True:
            body = await self._get(resource, params, f"Recharge {resource}")
            page = body.get(resource)
            if not isinstance(page, list):
                raise PlatformError(f"Recharge answered {resource} without a {resource!r} list")
            records.extend(page)
            cursor = body.get("next_cursor")
            if not cursor:
                return records
            if cursor in seen_cursors:
                raise PlatformError(f"Recharge {resource}: the cursor repeats; stopping instead of looping")
            seen_cursors.add(cursor)
            params = {"cursor": str(cursor), "limit": limit}

    async def account_info(self) -> AccountInfo:
        body = await self._get("store", {}, "Recharge store")
        store = body.get("store")
        if not isinstance(store, dict):
            raise PlatformError("Recharge answered /store without a store")
        if self.account_id.lower() not in store_handles(store):
            raise PlatformError(
                f"this Recharge token belongs to the store {store.get('name')!r} (id {store.get('id')}), "
                f"not {self.account_id!r}: connect it with that store's id or shop handle"
            )
        zone = str(store.get("iana_timezone") or "")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlatformError(f"Recharge store {store.get('id')} has no IANA time zone ({zone!r})") from None
        return AccountInfo(self.account_id, store.get("name"), str(store["currency"]).upper(), zone)

    async def subscription_spans(self, window: DateRange, zone: ZoneInfo) -> list[SubscriptionSpan]:
        """Every subscription that was active at some point of the window (and a few more)."""
        since, until = window_bounds(window, zone)
        records = await self.list_all("subscriptions", {"status": "active", "created_at_max": until})
        for ended in ("cancelled", "expired"):
            records += await self.list_all("subscriptions", {"status": ended, "updated_at_min": since})
        return [subscription_span(r, zone) for r in records]

    async def collected_charges(self, window: DateRange, zone: ZoneInfo, currency: str) -> list[CollectedCharge]:
        """The renewal charges processed in (and around) the window that brought money in."""
        since, until = window_bounds(window, zone)
        records = await self.list_all("charges", {"processed_at_min": since, "processed_at_max": until})
        return [c for c in (collected_charge(r, zone, currency) for r in records) if c is not None]

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        zone = ZoneInfo(account.time_zone)
        spans = await self.subscription_spans(window, zone)
        charges = await self.collected_charges(window, zone, account.currency)
        return subscription_metric_days(spans, window) + charge_metric_days(charges, window, account.currency)
