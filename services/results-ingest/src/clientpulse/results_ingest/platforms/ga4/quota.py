"""GA4 property quotas: which one ran out, how long until it returns, and when to stop short of it.

Every Data API answer can state the property's quotas (``returnPropertyQuota``). When any of them is
exhausted, every request to the property (ours and the client's own dashboards) is refused with
``RESOURCE_EXHAUSTED`` until it returns: daily quotas at midnight Pacific time, hourly ones "in under
an hour", concurrent requests as soon as others finish (Google Analytics Data API, "Limits and quotas").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.platforms.ga4.report import QuotaStatus

# Daily quotas refresh at midnight Pacific time.
DAILY_RESET_ZONE = ZoneInfo("America/Los_Angeles")
# Hourly quotas "return in under an hour": an hour is the wait that surely suffices.
HOURLY_WAIT_SECONDS = 3600.0
# Concurrent requests free up as soon as the property's other requests finish.
CONCURRENT_WAIT_SECONDS = 2.0
# A project's per-minute request quota (Google Cloud), named in its own message.
PER_MINUTE_WAIT_SECONDS = 60.0
DAILY_TOKEN_QUOTAS = ("tokensPerDay",)
HOURLY_TOKEN_QUOTAS = ("tokensPerHour", "tokensPerProjectPerHour")


class QuotaKind(enum.StrEnum):
    """Which kind of quota a ``RESOURCE_EXHAUSTED`` answer says ran out."""

    DAILY = "daily"
    HOURLY = "hourly"
    CONCURRENT = "concurrent"
    PER_MINUTE = "per_minute"
    UNKNOWN = "unknown"


def exhausted_quota(message: str) -> QuotaKind:
    """The quota a ``RESOURCE_EXHAUSTED`` message names ("Exhausted property tokens per day…",
    "…tokens for a project per hour…", "Exhausted concurrent requests quota.", "…potentially
    thresholded requests quota.")."""
    text = message.lower()
    if "per day" in text or "24 hours" in text:
        return QuotaKind.DAILY
    if "concurrent" in text:
        return QuotaKind.CONCURRENT
    if "per minute" in text:
        return QuotaKind.PER_MINUTE
    if "hour" in text or "thresholded" in text:
        return QuotaKind.HOURLY
    return QuotaKind.UNKNOWN


def next_daily_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, when the property's daily tokens return."""
    local = now.astimezone(DAILY_RESET_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=DAILY_RESET_ZONE)
    return midnight.astimezone(now.tzinfo)


def quota_wait_seconds(kind: QuotaKind, now: datetime) -> float | None:
    """How long until an exhausted quota of ``kind`` returns (``None``: unknown, back off instead)."""
    if kind is QuotaKind.DAILY:
        return (next_daily_reset(now) - now).total_seconds()
    if kind is QuotaKind.HOURLY:
        return HOURLY_WAIT_SECONDS
    if kind is QuotaKind.CONCURRENT:
        return CONCURRENT_WAIT_SECONDS
    if kind is QuotaKind.PER_MINUTE:
        return PER_MINUTE_WAIT_SECONDS
    return None


@dataclass(frozen=True, slots=True)
class QuotaPause:
    """Why and until when the property's reports should wait before its quota runs out."""

    quota: str
    until: datetime

    def reason(self, remaining: int, limit: int) -> str:
        """What a log line and the connection say about the pause."""
        return f"GA4 {self.quota}: {remaining} of {limit} left, kept for the property's other users"


def low_quota(
    quota: Mapping[str, QuotaStatus], reserve_share: float, now: datetime
) -> tuple[QuotaPause, QuotaStatus] | None:
    """The token quota (daily first, then hourly) whose remaining tokens fell below ``reserve_share`` of
    its size, with the time it returns; ``None`` while every one keeps its reserve.

    The reserve is left for everyone else reading the property (the client's own dashboards fail too
    when its quota is exhausted).
    """
    for names, until in (
        (DAILY_TOKEN_QUOTAS, next_daily_reset(now)),
        (HOURLY_TOKEN_QUOTAS, now + timedelta(seconds=HOURLY_WAIT_SECONDS)),
    ):
        for name in names:
            status = quota.get(name)
            if status is not None and status.limit > 0 and status.remaining < reserve_share * status.limit:
                return QuotaPause(name, until), status
    return None
