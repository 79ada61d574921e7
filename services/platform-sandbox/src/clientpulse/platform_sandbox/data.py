"""Deterministic, realistic numbers for a sandbox account: the same account always gets the same data."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """An ad account: how many campaigns, in which currency and time zone."""

    platform: str
    account_id: str
    name: str
    currency: str
    time_zone: str
    campaigns: int
    # Seconds each report request takes (a slow platform, for tests that stop a worker mid-request).
    latency: float = 0.0
    # Every n-th campaign is paused (0: none), so statuses and gaps appear in the data.
    pause_every: int = 5


_DEFAULTS = {
    "meta_ads": ("USD", "America/Los_Angeles"),
    "google_ads": ("EUR", "Europe/Berlin"),
    "tiktok_ads": ("USD", "America/New_York"),
}

_THEMES = ["Prospecting", "Retargeting", "Brand", "Summer Sale", "Always-on", "Launch", "Lookalike", "Catalog"]
_TITLES = ["Summer Linen Shirts - 20% Off", "Linen That Breathes", "Free Returns, Always", "New Colours Are In"]


def default_profile(platform: str, account_id: str) -> AccountProfile:
    """The profile an account has unless a test configured another one."""
    rng = _rng("profile", platform, account_id)
    currency, time_zone = _DEFAULTS.get(platform, ("USD", "UTC"))
    return AccountProfile(
        platform, account_id, f"Sandbox {platform} {account_id}", currency, time_zone, 3 + rng.randrange(4)
    )


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    """A sandbox campaign."""

    index: int
    campaign_id: str
    name: str
    status: str  # "ACTIVE" / "PAUSED" / "ARCHIVED" in sandbox terms; each API renders its own words
    headline: str
    overlap: float  # share of daily reach that is new people over a week (drives period reach)


def campaign(profile: AccountProfile, index: int) -> CampaignFacts:
    """The ``index``-th campaign of an account."""
    rng = _rng("campaign", profile.platform, profile.account_id, index)
    digits = int(hashlib.sha256(f"{profile.platform}:{profile.account_id}".encode()).hexdigest()[:8], 16)
    campaign_id = str(1201_0000_0000_0000 + digits % 10_000_000 * 1000 + index)
    paused = profile.pause_every > 0 and index % profile.pause_every == profile.pause_every - 1
    status = "PAUSED" if paused else "ACTIVE"
    theme = _THEMES[index % len(_THEMES)]
    return CampaignFacts(
        index=index,
        campaign_id=campaign_id,
        name=f"{theme} | {['US', 'DE', 'UK', 'FR'][index % 4]} | #{index + 1}",
        status=status,
        headline=rng.choice(_TITLES),
        # Every third campaign keeps reaching the same people: its 7-day frequency is above 3 (fatigue).
        overlap=0.12 + rng.random() * 0.05 if index % 3 == 1 else 0.5 + rng.random() * 0.2,
    )


def campaigns(profile: AccountProfile) -> list[CampaignFacts]:
    """Every campaign of an account."""
    return [campaign(profile, i) for i in range(profile.campaigns)]


@dataclass(frozen=True, slots=True)
class DayStats:
    """One campaign's numbers on one day (money in major units, as the platforms send it)."""

    spend: Decimal
    impressions: int
    clicks: int
    conversions: int
    conversion_value: Decimal
    reach: int


def day_stats(profile: AccountProfile, facts: CampaignFacts, day: date) -> DayStats | None:
    """A campaign's day, or ``None`` when it did not deliver (paused campaigns)."""
    if facts.status != "ACTIVE":
        return None
    rng = _rng("day", profile.platform, profile.account_id, facts.index, day.isoformat())
    base = 40 + (facts.index * 37) % 400
    spend = (Decimal(base) * Decimal(str(0.7 + rng.random() * 0.6))).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    impressions = int(spend * Decimal(60 + rng.randrange(60)))
    clicks = max(1, int(impressions * (0.005 + rng.random() * 0.025)))
    conversions = int(clicks * (0.01 + rng.random() * 0.05))
    value = (Decimal(conversions) * Decimal(40 + rng.randrange(80))).quantize(Decimal("0.01"))
    reach = max(1, int(impressions / (1.1 + rng.random() * 0.5)))
    return DayStats(spend, impressions, clicks, conversions, value, reach)


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def window_stats(profile: AccountProfile, facts: CampaignFacts, start: date, end: date) -> DayStats | None:
    """A campaign's numbers over a window, or ``None`` when it delivered on none of its days.

    Counts and money are the sums of the days; ``reach`` is the people reached over the whole window:
    at least the largest day's reach and at most the sum of the days' reach, because the same people
    come back on several days (how much depends on the campaign's ``overlap``).
    """
    delivered = [s for s in (day_stats(profile, facts, day) for day in days_between(start, end)) if s is not None]
    if not delivered:
        return None
    daily = [s.reach for s in delivered]
    people = max(max(daily), int(max(daily) + (sum(daily) - max(daily)) * facts.overlap))
    return DayStats(
        spend=sum((s.spend for s in delivered), start=Decimal(0)),
        impressions=sum(s.impressions for s in delivered),
        clicks=sum(s.clicks for s in delivered),
        conversions=sum(s.conversions for s in delivered),
        conversion_value=sum((s.conversion_value for s in delivered), start=Decimal(0)),
        reach=people,
    )


# --- ads and their copy (the numbers of a campaign's ads add up to the campaign's) ----------------

_BODIES = [
    "Free returns on every order.",
    "Breathable linen for hot days. Shop the new colours before they sell out.",
    "Made to last and priced to move: 20% off this week only.",
    "Our linen shirts are cut in Portugal from European flax, washed soft and ready to wear from day one.",
]


@dataclass(frozen=True, slots=True)
class AdShare:
    """An ad's share of its campaign's day: weights of spend, impressions, clicks and conversions (with value)."""

    spend: int
    impressions: int
    clicks: int
    conversions: int


# A campaign's first ad takes most of the spend and converts best; the second is the weaker test.
AD_SHARES = (AdShare(3, 3, 4, 4), AdShare(2, 2, 1, 1))


@dataclass(frozen=True, slots=True)
class AdFacts:
    """A sandbox ad of a campaign, with its headlines and primary texts."""

    index: int
    ad_id: str
    name: str
    headlines: tuple[str, ...]
    bodies: tuple[str, ...]
    share: AdShare


def ads_of(facts: CampaignFacts) -> list[AdFacts]:
    """A campaign's two ads (ids ``<campaign id>7<n>``), copy varying with the campaign and the ad."""
    found = []
    for n, share in enumerate(AD_SHARES):
        headline = _TITLES[(facts.index + n) % len(_TITLES)]
        found.append(
            AdFacts(
                index=n,
                ad_id=f"{facts.campaign_id}7{n}",
                name=f"{facts.name} | ad {n + 1}",
                headlines=(headline, _TITLES[(facts.index + n + 1) % len(_TITLES)]),
                bodies=(_BODIES[(facts.index + 2 * n) % len(_BODIES)],),
                share=share,
            )
        )
    return found


def split_counts(total: int, weights: list[int]) -> list[int]:
    """``total`` split by ``weights`` in whole units; the last part takes what rounding left, so parts add up."""
    whole = sum(weights)
    if whole == 0:
        return [0] * (len(weights) - 1) + [total]
    parts = [total * w // whole for w in weights[:-1]]
    return [*parts, total - sum(parts)]


def split_day(stats: DayStats, shares: list[AdShare]) -> list[DayStats]:
    """A campaign's day split among its ads: every sum of the parts is the campaign's (money to the cent)."""
    spend = split_counts(int(stats.spend * 100), [s.spend for s in shares])
    impressions = split_counts(stats.impressions, [s.impressions for s in shares])
    clicks = split_counts(stats.clicks, [s.clicks for s in shares])
    conversions = split_counts(stats.conversions, [s.conversions for s in shares])
    # Revenue goes with the conversions (an ad without a purchase has no purchase value).
    value = split_counts(int(stats.conversion_value * 100), conversions)
    reach = split_counts(stats.reach, [s.impressions for s in shares])
    return [
        DayStats(Decimal(spend[i]) / 100, impressions[i], clicks[i], conversions[i], Decimal(value[i]) / 100, reach[i])
        for i in range(len(shares))
    ]
