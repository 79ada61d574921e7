"""A client's health: the 0–100 score a DM records and the colour band it falls in
(docs/domain-rules.md, "Health").
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, HealthScore
from clientpulse.clients.domain.history import emit
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.contracts.events import HealthBand, HealthScoreRecorded
from clientpulse.shared.db import utcnow
from clientpulse.shared.identity import Identity

HEALTH_MIN = 0
HEALTH_MAX = 100
LOW_HEALTH_BELOW = 40


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


async def record_health(
    session: AsyncSession, identity: Identity, client: Client, score: int, note: str | None
) -> HealthScore:
    """Record a 0–100 health score; the client's current band follows it."""
    band = health_band(score)
    previous = HealthBand(client.health_band) if client.health_band else None
    now = utcnow()
    entry = HealthScore(
        id=new_event_id(),
        client_id=client.id,
        score=score,
        band=band.value,
        note=note,
        recorded_by=identity.sub,
        recorded_at=now,
    )
    session.add(entry)
    client.health_score, client.health_band = score, band.value
    await emit(
        session,
        HealthScoreRecorded(
            client_id=client.id,
            health_id=entry.id,
            score=score,
            band=band,
            previous_band=previous,
            note=note,
            recorded_by=identity.sub,
            recorded_at=now,
        ),
        line=f"Health recorded: {score} ({band.value})",
        actor=identity.sub,
    )
    return entry
