"""Klaviyo: the REST API (accounts, metrics, campaigns) and the Reporting API (campaign values, flow
series and flow values), under ``/klaviyo/api``.

Requests carry ``Authorization: Klaviyo-API-Key pk_…`` and a ``revision: YYYY-MM-DD`` header. A private
key belongs to one account: ``pk_sbx_<account id>`` is a key of that account (any id works); any other
``pk_`` key, and a key ``/_sandbox/grants/klaviyo`` issues, is a key of the demo account ``KSBX01``.
Errors are JSON:API ``{"errors": [{id, status, code, title, detail, …}]}``. Faults: ``throttle`` is
Klaviyo's 429 with ``Retry-After: 1``, ``rate_limit:<seconds>`` the same with a longer wait (the daily
limit), ``expired_token`` revokes the key (401 from then on), ``missing_scope`` is a 403.

Report timeframes are read in the account's time zone (the offset is ignored), both ends included; a
campaign is in a report when its account-local send day is in the timeframe, with all its numbers.
Flow series ``date_times`` are the account-local midnights, written with ``+00:00``.
"""

from __future__ import annotations

from aiohttp import web

from clientpulse.platform_sandbox.imitations.klaviyo.guard import (
    DEMO_ACCOUNT,
    FAULTS,
    GRANT_KINDS,
    KEY_PREFIX,
    PLATFORM,
)
from clientpulse.platform_sandbox.imitations.klaviyo.reports import campaign_values, flow_series, flow_values
from clientpulse.platform_sandbox.imitations.klaviyo.rest import accounts, campaigns, metrics

__all__ = ["DEMO_ACCOUNT", "FAULTS", "GRANT_KINDS", "KEY_PREFIX", "PLATFORM", "add_routes"]


def add_routes(router: web.UrlDispatcher) -> None:
    """Klaviyo's routes under ``/klaviyo`` (with and without the trailing slash Klaviyo's links carry)."""
    for path, handler in (("accounts", accounts), ("metrics", metrics), ("campaigns", campaigns)):
        router.add_get(f"/klaviyo/api/{path}/", handler)
        router.add_get(f"/klaviyo/api/{path}", handler)
    for path, report in (
        ("campaign-values-reports", campaign_values),
        ("flow-series-reports", flow_series),
        ("flow-values-reports", flow_values),
    ):
        router.add_post(f"/klaviyo/api/{path}/", report)
        router.add_post(f"/klaviyo/api/{path}", report)
