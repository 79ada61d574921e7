"""Yotpo Loyalty & Referrals (API v2, ``https://loyalty.yotpo.com/api/v2``, headers ``x-guid`` and
``x-api-key``): the loyalty metrics of one programme, derived from its customers and their history.

Yotpo documents no reporting endpoint, so the metrics are rebuilt from what it does document:

- **Customer list** (``GET /customers/recent``, Yotpo's "fetch all recently updated customers", newest
  change first): read in full, ``per_page`` records a page, following ``metadata.next_page_info`` as
  ``page_info`` when a page names a next cursor, else asking ``page`` + 1 while pages come back full.
  It gives each customer's ``opt_in`` and ``opted_in_at``.
- **loyalty_members** (a level): today's members (``opt_in`` not false) who joined (``opted_in_at``) on or
  before the end of the day. Yotpo gives no date for leaving the programme: a customer who left is in
  no day's count (earlier days are understated by those who left since), and a member without a join
  date is counted on every day. The whole list is needed for this: members who joined long ago are at
  its end.
- **loyalty_new_members**: customers whose ``opted_in_at`` falls on the day (those who left since too).
- **History** (``GET /customers?customer_email=…&with_history=true``, "fetch customer details"): asked
  only for customers changed since the window began (the stopping rule: every history entry changes
  its customer, so the others have nothing in the window). Each entry is dated by ``completed_at``
  (a back-dated action's own time), else ``created_at``, else ``date``, in the account's time zone.
- **points_earned**: positive ``points`` of entries not pending, cancelled, declined or rejected.
- **points_redeemed**, **redemptions**: spending entries named after one of the programme's rewards
  (``GET /redemption_options``) or whose ``status`` is a reward code (Yotpo's documented example: "$5
  Coupon", -250 points, status "FIVEOFF-XYZ"). Other spending (points expired, taken back after a
  refund, adjusted by hand) is neither.
- **loyalty_revenue_minor** ("loyalty-attributed revenue", an approximation): the order totals
  (``total_amount_cents``) of members' earning entries, where Yotpo puts them on the entry: the value
  of orders that earned members points, as recorded when they earned them (later refunds are not
  subtracted, and orders that earned nothing are not seen). Yotpo's documented history entry carries no
  amount; where a window's earning entries carry none, the metric is left out rather than shown as 0.

Cost per window: ``ceil(customers / per_page)`` list requests, one redemption-options request and one
history request per customer changed since the window began. A re-read of the last 7 days asks for the
history of that week's active members only.

Currency and time zone: the API documents no account settings endpoint, so they are the connection's
options (``currency``, ``time_zone``), defaulting to USD and UTC. Rate limits are not published: a 429
is retried after its ``Retry-After`` (or a backoff without one), 5xx is retried, and 401/403 (a wrong
GUID or API key) needs the account connected again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

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
from clientpulse.results_ingest.platforms.yotpo_loyalty.activity import (
    HistoryEntry,
    Member,
    activity_days,
    customers_of,
    member_days,
    member_identity,
    needs_history,
    next_cursor,
    parse_history,
    parse_member,
    reward_names_of,
    window_start,
)

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.yotpo_loyalty import YotpoLoyaltyOptions, YotpoLoyaltySettings

PLATFORM_KEY = "yotpo_loyalty"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:200]
    return str(body)[:200]


def interpret(response: httpx.Response) -> Any:
    """A Yotpo answer as its body, or the error it means."""
    status = response.status_code
    if status == 429:
        raise Throttled("Yotpo Loyalty answered 429", retry_after_seconds(response))
    if status >= 500:
        raise Transient(f"Yotpo Loyalty answered {status}")
    if status in (401, 403):
        raise ReconnectRequired(f"Yotpo Loyalty refused the GUID or API key ({status}): {_message(response)}")
    if status >= 400:
        raise PlatformError(f"Yotpo Loyalty answered {status}: {_message(response)}")
    body = json_body(response, "Yotpo Loyalty")
    if not isinstance(body, dict | list):
        raise Transient("Yotpo Loyalty answered with neither an object nor a list")
    return body


def interpret_lookup(response: httpx.Response) -> Any:
    """A customer lookup: a customer gone since the list was read (404) has no history to count."""
    if response.status_code == 404:
        return {}
    return interpret(response)


class YotpoLoyaltyConnector(ConnectorDefaults):
    """One loyalty programme (its GUID), read with its API key."""

    def __init__(
        self, ctx: ConnectorContext, settings: YotpoLoyaltySettings, guid: str, options: YotpoLoyaltyOptions
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.root = settings.base_url.rstrip("/")
        self.guid = guid
        self.options = options

    async def _get(self, path: str, params: dict[str, str], what: str, *, lookup: bool = False) -> Any:
        async def send() -> httpx.Response:
            headers = {
                "x-guid": self.guid,
                "x-api-key": self.ctx.credentials.access_token,
                "Accept": "application/json",
            }
            return await self.ctx.http.get(f"{self.root}/{path}", params=params, headers=headers)

        answer = interpret_lookup if lookup else interpret
        return await call_with_retries(self.ctx, send, answer, None, what=what, platform=PLATFORM_KEY)

    async def account_info(self) -> AccountInfo:
        """The programme as the connection describes it; the rewards request proves the GUID and key."""
        await self._get("redemption_options", {}, "Yotpo Loyalty redemption options")
        return AccountInfo(self.guid, self.options.name, self.options.currency, self.options.time_zone)

    async def members(self) -> list[Member]:
        """Every customer of the programme, page by page, each once (a customer who changes while
        the list is read moves to its front and may be listed twice)."""
        size = self.settings.page_size
        found: dict[str, Member] = {}
        params: dict[str, str] = {"per_page": str(size), "page": "1"}
        seen_cursors: set[str] = set()
        while True:
            body = await self._get("customers/recent", params, "Yotpo Loyalty customers")
            records = [parse_member(r) for r in customers_of(body)]
            new = [m for m in records if member_identity(m) not in found]
            found.update((member_identity(m), m) for m in new)
            cursor = next_cursor(body)
            if cursor is not None:
                if cursor in seen_cursors:
                    raise PlatformError("Yotpo Loyalty repeated a customer page cursor")
                seen_cursors.add(cursor)
                params = {"per_page": str(size), "page_info": cursor}
            elif len(records) >= size and "page" in params:
                if not new:
                    raise PlatformError("Yotpo Loyalty answered the same customers for the next page")
                params = {"per_page": str(size), "page": str(int(params["page"]) + 1)}
            else:
                return list(found.values())

    async def history(self, member: Member, zone: ZoneInfo, rewards: frozenset[str]) -> list[HistoryEntry]:
        """One member's dated history entries."""
        params = {"with_history": "true"}
        if member.email:
            params["customer_email"] = member.email
        elif member.external_id:
            params["customer_id"] = member.external_id
        else:
            return []
        body = await self._get("customers", params, "Yotpo Loyalty customer history", lookup=True)
        items = body.get("history_items") if isinstance(body, dict) else None
        return parse_history(items or [], zone, self.options.currency, rewards)

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        zone = ZoneInfo(account.time_zone)
        members = await self.members()
        rewards = reward_names_of(await self._get("redemption_options", {}, "Yotpo Loyalty redemption options"))
        since = window_start(window, zone)
        entries: list[HistoryEntry] = []
        for member in members:
            if needs_history(member, since):
                entries.extend(await self.history(member, zone, rewards))
        return member_days(window, members, zone) + activity_days(window, entries, account.currency)
