"""How far back each platform restates its numbers, and how backfills are cut into slices."""

from __future__ import annotations

from datetime import date, timedelta

from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.platforms import Platform

# Days a platform may still change after the fact (platform-apis.md §0.2): Meta freezes insights
# after 28 days, Google Ads restates for the conversion window (14 days by default), TikTok for the
# attribution window (7 days is the common setting).
REREAD_DAYS: dict[Platform, int] = {
    Platform.META_ADS: 28,
    Platform.GOOGLE_ADS: 14,
    Platform.TIKTOK_ADS: 7,
}

# Largest window one request may ask for with a daily breakdown: TikTok allows 30 days; a Google Ads
# searchStream takes any range; Meta answers faster in small slices.
SLICE_DAYS: dict[Platform, int] = {
    Platform.META_ADS: 7,
    Platform.GOOGLE_ADS: 30,
    Platform.TIKTOK_ADS: 30,
}

BACKFILL_DAYS = (30, 60, 90)


def reread_window(platform: Platform, today: date) -> DateRange:
    """The trailing days a sync re-reads: up to yesterday in the account's time zone."""
    end = today - timedelta(days=1)
    return DateRange(end - timedelta(days=REREAD_DAYS[platform] - 1), end)


def final_before(platform: Platform, today: date) -> date:
    """Days before this date are outside the re-read window and final."""
    return reread_window(platform, today).start


def backfill_range(days: int, today: date) -> DateRange:
    """The ``days`` complete days before ``today``."""
    end = today - timedelta(days=1)
    return DateRange(end - timedelta(days=days - 1), end)


def slices(window: DateRange, size: int) -> list[DateRange]:
    """Consecutive sub-ranges of at most ``size`` days covering ``window`` exactly once."""
    if size < 1:
        raise ValueError("a slice has at least one day")
    out: list[DateRange] = []
    start = window.start
    while start <= window.end:
        end = min(start + timedelta(days=size - 1), window.end)
        out.append(DateRange(start, end))
        start = end + timedelta(days=1)
    return out
