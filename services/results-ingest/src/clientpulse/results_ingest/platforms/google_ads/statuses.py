"""Google Ads ``campaign.status`` mapped to the ACTIVE / PAUSED / ARCHIVED badge."""

from __future__ import annotations

from clientpulse.results_ingest.domain.records import CampaignStatus

STATUSES = {
    "ENABLED": CampaignStatus.ACTIVE,
    "PAUSED": CampaignStatus.PAUSED,
    "REMOVED": CampaignStatus.ARCHIVED,
}


def google_status(status: str | None) -> CampaignStatus | None:
    """ENABLED → ACTIVE, PAUSED → PAUSED, REMOVED → ARCHIVED."""
    return STATUSES.get((status or "").upper())
