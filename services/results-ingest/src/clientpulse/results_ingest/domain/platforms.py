"""The platforms clientpulse reads results from."""

from __future__ import annotations

import enum


class Platform(enum.StrEnum):
    """The nine supported platforms."""

    SHOPIFY = "shopify"
    KLAVIYO = "klaviyo"
    GA4 = "ga4"
    META_ADS = "meta_ads"
    GOOGLE_ADS = "google_ads"
    TIKTOK_ADS = "tiktok_ads"
    GORGIAS = "gorgias"
    YOTPO_LOYALTY = "yotpo_loyalty"
    RECHARGE = "recharge"


class ConnectionStatus(enum.StrEnum):
    """Health of a connection."""

    CONNECTED = "connected"
    EXPIRED = "expired"
    ERROR = "error"
