"""What a connector hands over: one campaign's additive sums for one account-local day."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

# Conversions may be fractional (Google Ads attributes parts of a conversion): stored exactly as
# integer ten-thousandths so sums stay exact on both PostgreSQL and SQLite.
CONVERSION_SCALE = 10_000


class CampaignStatus(enum.StrEnum):
    """The status badge shown for a campaign, whatever the platform calls it."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


def conversions_to_scaled(value: str | int | float | Decimal) -> int:
    """A conversion count (possibly fractional, "37.5") as integer ten-thousandths."""
    scaled = Decimal(str(value)) * CONVERSION_SCALE
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def scaled_to_conversions(value: int) -> Decimal:
    """Integer ten-thousandths back to the conversion count."""
    return (Decimal(value) / CONVERSION_SCALE).normalize()


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """Sums of one campaign on one day in the ad account's own time zone and currency."""

    campaign_id: str
    day: date
    campaign_name: str
    status: CampaignStatus | None
    status_raw: str | None
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int
    reach_daily: int | None
    creative_title: str | None = None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An ad account as the platform describes it."""

    account_id: str
    name: str | None
    currency: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """An account a connection's credentials reach, as a person picks it.

    ``options`` are the connection options that reach it (Google Ads: the manager account to log in
    through); ``manager`` accounts hold other accounts and have no results of their own.
    """

    account_id: str
    name: str | None
    currency: str | None
    time_zone: str | None
    manager: bool = False
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A part of an account's figure: one channel group of GA4, one email campaign or flow of Klaviyo.

    ``dimension`` names what the account is broken down by (``channel_group``, ``email_campaign``,
    ``email_flow``), ``member`` the part (the platform's id, or the group's name), ``label`` what a
    person reads (a campaign's name).
    """

    dimension: str
    member: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class MetricDay:
    """One account metric of the metric catalogue on one account-local day.

    For a *sum* metric the day's total; for a *level* metric (active subscriptions, members) the
    value at the end of the day. ``value`` is an integer in the metric's unit (money in minor units of
    ``currency``, fractional counts in ten-thousandths). Without ``breakdown`` it is the account's
    figure; with one, a part of it (the account's own figure is given as well, never summed from parts).
    A connector gives every day of the window it read, zeros included, so a re-read replaces a day.
    """

    day: date
    metric_key: str
    value: int
    currency: str | None = None
    breakdown: Breakdown | None = None


@dataclass(frozen=True, slots=True)
class WindowFigure:
    """A platform's own count of people for a whole window (GA4's total users): never added over days."""

    start: date
    end: date
    metric_key: str
    value: int
    breakdown: Breakdown | None = None


@dataclass(frozen=True, slots=True)
class AdCreativeDay:
    """One ad's copy and its additive sums on one account-local day (money in minor units of ``currency``).

    ``headlines`` and ``bodies`` are the ad's headline(s) and primary text(s) as the platform holds them
    (several for a dynamic or responsive ad, in the platform's order, without repeats); both are text
    written by people and are untrusted wherever they go.
    """

    ad_id: str
    campaign_id: str
    day: date
    ad_name: str | None
    headlines: tuple[str, ...]
    bodies: tuple[str, ...]
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions_e4: int
    conversion_value_minor: int


def distinct_texts(*texts: object) -> tuple[str, ...]:
    """The non-empty strings among ``texts``, stripped, each once, in order (an ad's headlines or bodies)."""
    seen: dict[str, None] = {}
    for text in texts:
        if isinstance(text, str) and text.strip():
            seen.setdefault(text.strip(), None)
    return tuple(seen)
