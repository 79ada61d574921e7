"""The platforms results-ingest reads, one module each; the engine finds them here and nowhere else.

Adding a platform: its module (a ``PlatformSpec`` named ``PLATFORM``), its sandbox imitation, its
tests, and one line below (the results-ingest README has the recipe).
"""

from __future__ import annotations

from clientpulse.results_ingest.platforms import (
    ga4,
    google_ads,
    gorgias,
    klaviyo,
    meta_ads,
    recharge,
    shopify,
    tiktok_ads,
    yotpo_loyalty,
)
from clientpulse.results_ingest.platforms.registry import PlatformRegistry, UnknownPlatform
from clientpulse.results_ingest.platforms.spec import ConnectionTarget, PlatformSettings, PlatformSpec

REGISTRY = PlatformRegistry(
    [
        meta_ads.PLATFORM,
        google_ads.PLATFORM,
        tiktok_ads.PLATFORM,
        gorgias.PLATFORM,
        recharge.PLATFORM,
        klaviyo.PLATFORM,
        ga4.PLATFORM,
        shopify.PLATFORM,
        yotpo_loyalty.PLATFORM,
    ]
)

__all__ = ["REGISTRY", "ConnectionTarget", "PlatformRegistry", "PlatformSettings", "PlatformSpec", "UnknownPlatform"]
