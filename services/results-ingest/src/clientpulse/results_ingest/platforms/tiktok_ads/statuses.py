"""TikTok campaign states mapped to the ACTIVE / PAUSED / ARCHIVED badge."""

from __future__ import annotations

from clientpulse.results_ingest.domain.records import CampaignStatus

SWITCH = {"ENABLE": CampaignStatus.ACTIVE, "DISABLE": CampaignStatus.PAUSED}


def tiktok_status(operation_status: str | None, secondary_status: str | None = None) -> CampaignStatus | None:
    """A deleted campaign (``*_DELETE`` secondary status) is ARCHIVED, else the on/off switch."""
    if secondary_status and secondary_status.upper().endswith("_DELETE"):
        return CampaignStatus.ARCHIVED
    return SWITCH.get((operation_status or "").upper())
