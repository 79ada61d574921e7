"""A sandbox Klaviyo account's deterministic email program: campaigns sent on most days (some by SMS),
a few flows with their messages, and the numbers of each, the same for an account in every process."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clientpulse.platform_sandbox.data import AccountProfile, days_between

# The demo account: its store's metrics carry the ids Klaviyo's documentation shows.
DEMO_ACCOUNT = "KSBX01"
_DOCUMENTED_METRIC_IDS = {
    "Placed Order": "Y6Hmxn",
    "Ordered Product": "W8Gk3c",
    "Fulfilled Order": "TxVpCr",
    "Refunded Order": "R3tQpZ",
}
# "01S" + the account's digest (6) + the send day (8) + the campaign's number that day (1).
CAMPAIGN_ID_LENGTH = 18
_THEMES = ["Weekly Newsletter", "New Arrivals", "Flash Sale", "Back in Stock", "VIP Early Access", "Last Chance"]
_FLOWS = ["Welcome Series", "Abandoned Cart", "Browse Abandonment", "Post-Purchase Thank You", "Winback", "Birthday"]
_SHOP_METRICS = ("Placed Order", "Ordered Product", "Fulfilled Order", "Refunded Order")
_EMAIL_METRICS = ("Received Email", "Opened Email", "Clicked Email", "Unsubscribed")


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _digest(*parts: object, length: int = 6) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:length].upper()


def list_size(account: str) -> int:
    """How many people the account's campaigns go to."""
    return 3_000 + _rng("klaviyo list", account).randrange(37_000)


@dataclass(frozen=True, slots=True)
class SentCampaign:
    """A campaign the account sent: ``send_time`` in UTC, ``day`` the account-local send day."""

    campaign_id: str
    message_id: str
    name: str
    channel: str
    send_time: datetime
    day: date


def campaigns_on(profile: AccountProfile, day: date) -> list[SentCampaign]:
    """The campaigns sent on an account-local day: none to two, some late in the evening (the next day in
    UTC west of Greenwich), one in five by SMS."""
    rng = _rng("klaviyo campaigns", profile.account_id, day.isoformat())
    count = rng.choices([0, 1, 2], weights=[3, 5, 2])[0]
    sent = []
    for number in range(count):
        channel = "sms" if rng.random() < 0.2 else "email"
        hour, minute = rng.randrange(7, 24), rng.choice([0, 15, 30, 45])
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(profile.time_zone))
        campaign_id = f"01S{_digest('klaviyo', profile.account_id)}{day:%Y%m%d}{number}"
        theme = _THEMES[rng.randrange(len(_THEMES))]
        sent.append(
            SentCampaign(
                campaign_id=campaign_id,
                message_id=f"{campaign_id}M",
                name=f"{theme} - {day:%b %d}{' (SMS)' if channel == 'sms' else ''}",
                channel=channel,
                send_time=local.astimezone(ZoneInfo("UTC")),
                day=day,
            )
        )
    return sent


def campaigns_between(profile: AccountProfile, start: date, end: date) -> list[SentCampaign]:
    """Every campaign sent from ``start`` to ``end`` (account-local days, both included)."""
    return [c for day in days_between(start, end) for c in campaigns_on(profile, day)]


def campaign_by_id(profile: AccountProfile, campaign_id: str) -> SentCampaign | None:
    """A campaign of the account by its id, or ``None`` (another account's, or no such campaign)."""
    if campaign_id[3:9] != _digest("klaviyo", profile.account_id):
        return None
    try:
        day = datetime.strptime(campaign_id[9:17], "%Y%m%d").date()
    except ValueError:
        return None
    return next((c for c in campaigns_on(profile, day) if c.campaign_id == campaign_id), None)


@dataclass(frozen=True, slots=True)
class EmailStats:
    """The counts of one campaign or one flow message on one day; ``conversion_value`` in major units."""

    recipients: int = 0
    delivered: int = 0
    bounced: int = 0
    opens: int = 0
    opens_unique: int = 0
    clicks: int = 0
    clicks_unique: int = 0
    conversions: int = 0
    conversion_uniques: int = 0
    conversion_value: Decimal = Decimal(0)
    unsubscribes: int = 0
    unsubscribe_uniques: int = 0
    spam_complaints: int = 0

    def __add__(self, other: EmailStats) -> EmailStats:
        return EmailStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def _stats(rng: random.Random, recipients: int, channel: str) -> EmailStats:
    """Plausible numbers for a send to ``recipients`` people."""
    if recipients == 0:
        return EmailStats()
    delivered = int(recipients * (0.975 + rng.random() * 0.02))
    opens_unique = 0 if channel == "sms" else int(delivered * (0.25 + rng.random() * 0.25))
    clicks_unique = int(delivered * (0.008 + rng.random() * 0.04))
    conversions = int(clicks_unique * (0.05 + rng.random() * 0.15))
    value = Decimal(0)
    for _ in range(conversions):
        value += (Decimal(25 + rng.randrange(150)) + Decimal(rng.randrange(100)) / 100).quantize(Decimal("0.01"))
    unsubscribe_uniques = int(delivered * rng.random() * 0.003)
    return EmailStats(
        recipients=recipients,
        delivered=delivered,
        bounced=recipients - delivered,
        opens=opens_unique + int(opens_unique * rng.random() * 0.6),
        opens_unique=opens_unique,
        clicks=clicks_unique + int(clicks_unique * rng.random() * 0.4),
        clicks_unique=clicks_unique,
        conversions=conversions,
        conversion_uniques=conversions - int(conversions * rng.random() * 0.1),
        conversion_value=value.quantize(Decimal("0.01"), ROUND_HALF_EVEN),
        unsubscribes=unsubscribe_uniques + (1 if unsubscribe_uniques and rng.random() < 0.3 else 0),
        unsubscribe_uniques=unsubscribe_uniques,
        spam_complaints=int(delivered * rng.random() * 0.0004),
    )


def campaign_stats(profile: AccountProfile, campaign: SentCampaign) -> EmailStats:
    """A campaign's numbers (all of them: conversions it earned after its send day included)."""
    rng = _rng("klaviyo campaign stats", campaign.campaign_id)
    return _stats(rng, int(list_size(profile.account_id) * (0.5 + rng.random() * 0.6)), campaign.channel)


@dataclass(frozen=True, slots=True)
class Flow:
    """An automated flow and its messages (message id, channel)."""

    flow_id: str
    name: str
    messages: tuple[tuple[str, str], ...]


def flows(profile: AccountProfile) -> list[Flow]:
    """The account's flows: as many as its profile has campaigns (3 to 6 by default)."""
    found = []
    for index in range(min(profile.campaigns, len(_FLOWS))):
        flow_id = _digest("klaviyo flow", profile.account_id, index)
        count = 1 + _rng("klaviyo flow messages", profile.account_id, index).randrange(3)
        messages = [(f"01F{flow_id}{number}", "email") for number in range(count)]
        if _FLOWS[index] == "Abandoned Cart":
            messages.append((f"01F{flow_id}S", "sms"))
        found.append(Flow(flow_id, _FLOWS[index], tuple(messages)))
    return found


def flow_day_stats(profile: AccountProfile, flow: Flow, message_id: str, channel: str, day: date) -> EmailStats:
    """One flow message's numbers on one account-local day (some days nobody enters the flow)."""
    rng = _rng("klaviyo flow day", profile.account_id, message_id, day.isoformat())
    if rng.random() < 0.1:
        return EmailStats()
    recipients = int(list_size(profile.account_id) * (0.002 + rng.random() * 0.01))
    return _stats(rng, recipients, channel)


def _ratio(numerator: Decimal | int, denominator: int) -> float:
    return round(float(Decimal(numerator) / denominator), 6) if denominator else 0.0


def statistic(stats: EmailStats, name: str) -> int | float:
    """One statistic as Klaviyo reports it: a count, an amount, or a rate as a fraction."""
    rates: dict[str, tuple[Decimal | int, int]] = {
        "delivery_rate": (stats.delivered, stats.recipients),
        "bounce_rate": (stats.bounced, stats.recipients),
        "open_rate": (stats.opens_unique, stats.delivered),
        "click_rate": (stats.clicks_unique, stats.delivered),
        "click_to_open_rate": (stats.clicks_unique, stats.opens_unique),
        "conversion_rate": (stats.conversion_uniques, stats.delivered),
        "revenue_per_recipient": (stats.conversion_value, stats.delivered),
        "average_order_value": (stats.conversion_value, stats.conversions),
        "unsubscribe_rate": (stats.unsubscribe_uniques, stats.delivered),
        "spam_complaint_rate": (stats.spam_complaints, stats.delivered),
    }
    if name in rates:
        return _ratio(*rates[name])
    value = getattr(stats, name)
    return float(value) if isinstance(value, Decimal) else int(value)


def metric_id(account: str, name: str) -> str:
    """The id of one of the account's metrics."""
    if account == DEMO_ACCOUNT and name in _DOCUMENTED_METRIC_IDS:
        return _DOCUMENTED_METRIC_IDS[name]
    return _digest("klaviyo metric", account, name)


def account_metrics(account: str) -> list[dict[str, Any]]:
    """The account's metrics: its Shopify store's and Klaviyo's own email metrics."""
    shopify = {"object": "integration", "id": "0eMvjm", "key": "shopify", "name": "Shopify", "category": "eCommerce"}
    klaviyo = {"object": "integration", "id": "0rG4eQ", "key": "klaviyo", "name": "Klaviyo", "category": "Internal"}
    found = []
    for names, integration in ((_SHOP_METRICS, shopify), (_EMAIL_METRICS, klaviyo)):
        for name in names:
            found.append(
                {
                    "id": metric_id(account, name),
                    "attributes": {
                        "name": name,
                        "created": "2022-01-24T01:41:41+00:00",
                        "updated": "2022-01-24T01:41:41+00:00",
                        "integration": integration,
                    },
                }
            )
    return found
