"""Meta campaign ``effective_status`` mapped to the ACTIVE / PAUSED / ARCHIVED badge."""

from __future__ import annotations

from clientpulse.results_ingest.domain.records import CampaignStatus

STATUSES = {
    "ACTIVE": CampaignStatus.ACTIVE,
    "IN_PROCESS": CampaignStatus.ACTIVE,
    "WITH_ISSUES": CampaignStatus.ACTIVE,
    "PAUSED": CampaignStatus.PAUSED,
    "CAMPAIGN_PAUSED": CampaignStatus.PAUSED,
    "ADSET_PAUSED": CampaignStatus.PAUSED,
    "ARCHIVED": CampaignStatus.ARCHIVED,
    "DELETED": CampaignStatus.ARCHIVED,
}


def meta_status(effective_status: str | None) -> CampaignStatus | None:
    """Meta ``effective_status``: ACTIVE and in-flight states are ACTIVE, DELETED is ARCHIVED."""
    return STATUSES.get((effective_status or "").upper())
