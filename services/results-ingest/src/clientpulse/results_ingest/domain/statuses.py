"""Each platform's campaign states mapped to the ACTIVE / PAUSED / ARCHIVED badge."""

from __future__ import annotations

from clientpulse.results_ingest.domain.records import CampaignStatus

_META = {
    "ACTIVE": CampaignStatus.ACTIVE,
    "IN_PROCESS": CampaignStatus.ACTIVE,
    "WITH_ISSUES": CampaignStatus.ACTIVE,
    "PAUSED": CampaignStatus.PAUSED,
    "CAMPAIGN_PAUSED": CampaignStatus.PAUSED,
    "ADSET_PAUSED": CampaignStatus.PAUSED,
    "ARCHIVED": CampaignStatus.ARCHIVED,
    "DELETED": CampaignStatus.ARCHIVED,
}

_GOOGLE = {
    "ENABLED": CampaignStatus.ACTIVE,
    "PAUSED": CampaignStatus.PAUSED,
    "REMOVED": CampaignStatus.ARCHIVED,
}


def meta_status(effective_status: str | None) -> CampaignStatus | None:
    """Meta ``effective_status``: ACTIVE and in-flight states are ACTIVE, DELETED is ARCHIVED."""
    return _META.get((effective_status or "").upper())


def google_status(status: str | None) -> CampaignStatus | None:
    """Google Ads ``campaign.status``: ENABLED → ACTIVE, PAUSED → PAUSED, REMOVED → ARCHIVED."""
    return _GOOGLE.get((status or "").upper())


def tiktok_status(operation_status: str | None, secondary_status: str | None) -> CampaignStatus | None:
    """TikTok: a deleted campaign (``*_DELETE`` secondary status) is ARCHIVED, else the on/off switch."""
    if secondary_status and secondary_status.upper().endswith("_DELETE"):
        return CampaignStatus.ARCHIVED
    switch = (operation_status or "").upper()
    if switch == "ENABLE":
        return CampaignStatus.ACTIVE
    if switch == "DISABLE":
        return CampaignStatus.PAUSED
    return None
