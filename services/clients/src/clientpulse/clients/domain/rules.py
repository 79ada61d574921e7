"""The clients service's domain rules (DESIGN.md §6): health bands, QBR cadence and overdue detection,
rating staleness, goal status by pace, and group-account cycles. Pure functions, no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta

from clientpulse.shared.contracts.events import ClientStatus, HealthBand, Tier
from clientpulse.shared.ratings import ratings_are_stale

HEALTH_MIN = 0
HEALTH_MAX = 100
LOW_HEALTH_BELOW = 40
REVIEW_ACTION_DAYS = 30

# Months between QBRs per effective tier; an unscored client (tier None) uses 12.
QBR_CADENCE_MONTHS: dict[Tier | None, int] = {
    Tier.PLATINUM: 3,
    Tier.CORE: 6,
    Tier.STANDARD: 12,
    Tier.REVIEW: 12,
    None: 12,
}


def health_band(score: int) -> HealthBand:
    """The colour band of a health score: Green 70–100, Amber 40–69, Red 0–39."""
    if not HEALTH_MIN <= score <= HEALTH_MAX:
        raise ValueError(f"health score must be between {HEALTH_MIN} and {HEALTH_MAX}, got {score}")
    if score >= 70:
        return HealthBand.GREEN
    if score >= 40:
        return HealthBand.AMBER
    return HealthBand.RED


HEALTH_BAND_RANGES: dict[HealthBand, tuple[int, int]] = {
    HealthBand.GREEN: (70, 100),
    HealthBand.AMBER: (40, 69),
    HealthBand.RED: (0, 39),
}


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the last day of a shorter month (Nov 30 + 3 → Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def qbr_cadence_months(tier: Tier | None) -> int:
    """Months between QBRs for a tier: Platinum 3, Core 6, Standard and Review 12, unscored 12."""
    return QBR_CADENCE_MONTHS[tier]


def qbr_due_date(tier: Tier | None, *, last_qbr_on: date | None, active_since: date | None) -> date | None:
    """When the next QBR is due: the last QBR plus the tier's cadence.

    A client with no QBR yet is due one cadence after it became Active; one never Active has no due date.
    """
    start = last_qbr_on or active_since
    if start is None:
        return None
    return add_months(start, qbr_cadence_months(tier))


def qbr_overdue(status: ClientStatus, due_on: date | None, today: date) -> bool:
    """Only an Active client can be overdue, and only once its due date has passed."""
    return status is ClientStatus.ACTIVE and due_on is not None and today > due_on


def review_action_due(entered_review_on: date) -> date:
    """A client entering Review must be acted on (reprice, exit or improve) within 30 days."""
    return entered_review_on + timedelta(days=REVIEW_ACTION_DAYS)


def is_stale(ratings_recorded_at: datetime | None, now: datetime) -> bool:
    """Human ratings older than 90 days are stale; a client never rated is not flagged (the shared rule)."""
    return ratings_are_stale(ratings_recorded_at, now)


def creates_group_cycle(client_id: str, new_parent_id: str, parent_of: Callable[[str], str | None]) -> bool:
    """Whether making ``new_parent_id`` the parent of ``client_id`` closes a loop.

    Walks up from the new parent; reaching the client means the client would be its own ancestor.
    """
    seen: set[str] = set()
    current: str | None = new_parent_id
    while current is not None and current not in seen:
        if current == client_id:
            return True
        seen.add(current)
        current = parent_of(current)
    return current is not None
