"""Klaviyo's Reporting API answers, read into the email metrics of the catalogue.

Klaviyo's reports carry counts and rates; only the counts are read (rates are derived from sums at
read time, never stored). A campaign's values count on the day it was sent, in the account's time
zone; a flow's numbers on each day of its daily series. Every part (one campaign, one flow) is also
added into the account's figure of its day, so the parts always add up to the account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.results_ingest.domain.catalogue import (
    EMAIL_CLICKS,
    EMAIL_CONVERSIONS,
    EMAIL_DELIVERED,
    EMAIL_OPENS,
    EMAIL_RECIPIENTS,
    EMAIL_REVENUE,
    EMAIL_UNSUBSCRIBES,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import Breakdown, MetricDay
from clientpulse.shared.money import to_minor_units

CAMPAIGN_DIMENSION = "email_campaign"
FLOW_DIMENSION = "email_flow"
CONVERSION_METRIC_NAME = "Placed Order"
# The counts asked of every report. ``conversions`` (every attributed order, not ``conversion_uniques``,
# the people who ordered) goes with ``conversion_value``, the value of those same orders, and adds up
# over campaigns and flows; unique opens, clicks and unsubscribes are people per message.
STATISTICS = (
    "recipients",
    "delivered",
    "opens_unique",
    "clicks_unique",
    "conversions",
    "conversion_value",
    "unsubscribe_uniques",
)


@dataclass(frozen=True, slots=True)
class EmailFigures:
    """The counts of one campaign, one flow-day or one account-day; ``revenue`` in major units, exact."""

    recipients: int = 0
    delivered: int = 0
    opens: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)
    unsubscribes: int = 0

    def __add__(self, other: EmailFigures) -> EmailFigures:
        return EmailFigures(
            self.recipients + other.recipients,
            self.delivered + other.delivered,
            self.opens + other.opens,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            self.revenue + other.revenue,
            self.unsubscribes + other.unsubscribes,
        )


@dataclass(frozen=True, slots=True)
class EmailPart:
    """One campaign on its send day, or one flow on one day of its series."""

    day: date
    breakdown: Breakdown
    figures: EmailFigures


def _count(value: Any) -> int:
    """A count statistic (Klaviyo may send ``null`` or ``12.0`` for a count)."""
    return int(Decimal(str(value))) if value is not None else 0


def _amount(value: Any) -> Decimal:
    """A money statistic: the JSON number as its exact decimal literal."""
    return Decimal(str(value)) if value is not None else Decimal(0)


def figures_of(statistics: Mapping[str, Any]) -> EmailFigures:
    """The counts of one report result (rates in it are ignored)."""
    return EmailFigures(
        recipients=_count(statistics.get("recipients")),
        delivered=_count(statistics.get("delivered")),
        opens=_count(statistics.get("opens_unique")),
        clicks=_count(statistics.get("clicks_unique")),
        conversions=_count(statistics.get("conversions")),
        revenue=_amount(statistics.get("conversion_value")),
        unsubscribes=_count(statistics.get("unsubscribe_uniques")),
    )


def _results(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(((body.get("data") or {}).get("attributes") or {}).get("results") or [])


def _is_email(groupings: Mapping[str, Any]) -> bool:
    """Results without a channel are email (the report was asked for email only)."""
    return groupings.get("send_channel") in (None, "email")


def parse_campaign_values(pages: Iterable[Mapping[str, Any]]) -> dict[str, EmailFigures]:
    """Each email campaign's values over the report's timeframe, its messages added together."""
    found: dict[str, EmailFigures] = {}
    for body in pages:
        for result in _results(body):
            groupings = result.get("groupings") or {}
            if not _is_email(groupings) or not groupings.get("campaign_id"):
                continue
            campaign_id = str(groupings["campaign_id"])
            found[campaign_id] = found.get(campaign_id, EmailFigures()) + figures_of(result.get("statistics") or {})
    return found


def _series_value(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None


def series_day(stamp: str) -> date:
    """The day of one ``date_times`` entry: Klaviyo reads and labels report times in the account's time
    zone whatever their offset says, so the date written is the account-local day."""
    return date.fromisoformat(stamp[:10])


def parse_flow_series(pages: Iterable[Mapping[str, Any]], window: DateRange) -> list[EmailPart]:
    """Each email flow's figures per day of ``window`` (its messages added together)."""
    totals: dict[str, dict[date, EmailFigures]] = defaultdict(dict)
    names: dict[str, str | None] = {}
    for body in pages:
        stamps = ((body.get("data") or {}).get("attributes") or {}).get("date_times") or []
        for result in _results(body):
            groupings, statistics = result.get("groupings") or {}, result.get("statistics") or {}
            if not _is_email(groupings) or not groupings.get("flow_id"):
                continue
            flow_id = str(groupings["flow_id"])
            names[flow_id] = names.get(flow_id) or groupings.get("flow_name")
            days = totals[flow_id]
            for index, stamp in enumerate(stamps):
                day = series_day(str(stamp))
                if not window.start <= day <= window.end:
                    continue  # a boundary point outside the window belongs to another read
                point = {name: _series_value(statistics.get(name), index) for name in STATISTICS}
                days[day] = days.get(day, EmailFigures()) + figures_of(point)
    return [
        EmailPart(day, Breakdown(FLOW_DIMENSION, flow_id, names.get(flow_id)), figures)
        for flow_id, days in sorted(totals.items())
        for day, figures in sorted(days.items())
    ]


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    """A campaign as the campaigns endpoint describes it: its name and when it was sent (UTC)."""

    name: str | None
    send_time: datetime | None


def parse_campaigns(body: Mapping[str, Any]) -> tuple[dict[str, CampaignFacts], str | None]:
    """Campaigns of one page of ``GET /api/campaigns/``, with the next page's URL."""
    found: dict[str, CampaignFacts] = {}
    for item in body.get("data") or []:
        attributes = item.get("attributes") or {}
        sent = attributes.get("send_time")
        found[str(item["id"])] = CampaignFacts(
            attributes.get("name"), datetime.fromisoformat(str(sent).replace("Z", "+00:00")) if sent else None
        )
    return found, (body.get("links") or {}).get("next")


def send_day(send_time: datetime, time_zone: str) -> date:
    """The account-local day a campaign was sent (a campaign sent at 23:30 in New York is that day's,
    though it is the next day in UTC)."""
    return send_time.astimezone(ZoneInfo(time_zone)).date()


def place_campaigns(
    values: Mapping[str, EmailFigures], facts: Mapping[str, CampaignFacts], time_zone: str, window: DateRange
) -> list[EmailPart]:
    """Each campaign's values on its send day; campaigns sent outside ``window`` belong to another read,
    and a campaign without a send time (not sent) has no day."""
    parts = []
    for campaign_id, figures in sorted(values.items()):
        known = facts.get(campaign_id)
        if known is None or known.send_time is None:
            continue
        day = send_day(known.send_time, time_zone)
        if window.start <= day <= window.end:
            parts.append(EmailPart(day, Breakdown(CAMPAIGN_DIMENSION, campaign_id, known.name), figures))
    return parts


def pick_conversion_metric(metrics: Iterable[Mapping[str, Any]]) -> str | None:
    """The id of the account's "Placed Order" metric: an e-commerce integration's if there are several
    (one per integration can exist), else the first listed; ``None`` when the account has none."""
    placed = [m for m in metrics if (m.get("attributes") or {}).get("name") == CONVERSION_METRIC_NAME]
    shop = [m for m in placed if ((m["attributes"].get("integration") or {}).get("category")) == "eCommerce"]
    chosen = shop or placed
    return str(chosen[0]["id"]) if chosen else None


def _rows(day: date, figures: EmailFigures, currency: str, breakdown: Breakdown | None) -> list[MetricDay]:
    counts = (
        (EMAIL_RECIPIENTS, figures.recipients),
        (EMAIL_DELIVERED, figures.delivered),
        (EMAIL_OPENS, figures.opens),
        (EMAIL_CLICKS, figures.clicks),
        (EMAIL_CONVERSIONS, figures.conversions),
        (EMAIL_UNSUBSCRIBES, figures.unsubscribes),
    )
    rows = [MetricDay(day, spec.key, value, breakdown=breakdown) for spec, value in counts]
    revenue = to_minor_units(figures.revenue, currency)
    rows.append(MetricDay(day, EMAIL_REVENUE.key, revenue, currency=currency, breakdown=breakdown))
    return rows


def email_metric_days(window: DateRange, parts: Iterable[EmailPart], currency: str) -> list[MetricDay]:
    """The account's email metrics for every day of ``window`` (zeros included) and each part's rows.

    The account's revenue of a day is the sum of its parts' revenue in minor units, so the parts add
    up to the account exactly.
    """
    by_day: dict[date, list[MetricDay]] = defaultdict(list)
    for part in parts:
        by_day[part.day].extend(_rows(part.day, part.figures, currency, part.breakdown))
    out: list[MetricDay] = []
    day = window.start
    while day <= window.end:
        totals: dict[str, int] = defaultdict(int)
        for row in by_day[day]:
            totals[row.metric_key] += row.value
        for row in _rows(day, EmailFigures(), currency, None):
            out.append(MetricDay(day, row.metric_key, totals[row.metric_key], row.currency))
        out.extend(by_day[day])
        day += timedelta(days=1)
    return out
