"""Escalating overdue QBRs to the squad's Heads: the daily job behind ``clientpulse-notifications escalate``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clientpulse.notifications.db.repositories.qbr_episodes import QbrEpisodeRepository
from clientpulse.notifications.domain import rules
from clientpulse.notifications.domain.inbox import EmailChannel, deliver
from clientpulse.shared.client_directory import find_client
from clientpulse.shared.db import Database, utcnow

BATCH = 200


@dataclass(slots=True)
class EscalationSummary:
    """What one run did."""

    episodes: int = 0
    notified: int = 0
    without_head: int = 0
    resolved: int = 0


async def escalate_overdue_qbrs(
    database: Database, today: date, squad_heads: dict[str, list[str]], email: EmailChannel | None = None
) -> EscalationSummary:
    """Tell the squad's Heads of every overdue QBR whose escalation date has come, once per episode.

    Each batch is one unit of work: the Heads' notifications and the episode's ``escalated_at`` commit
    together, so a re-run (or a second CronJob pod: rows are claimed with ``SKIP LOCKED``) never tells
    anyone twice. An episode whose squad has no configured Head is marked escalated and counted.
    """
    summary = EscalationSummary()
    while True:
        async with database.transaction() as session:
            repository = QbrEpisodeRepository(session)
            episodes = await repository.claim_due(today, limit=BATCH, lock=database.is_postgres)
            for episode in episodes:
                # Checked now, not when QbrLogged arrived: the two events may be handled in either order.
                if rules.qbr_held_since(await repository.latest_qbr(episode.client_id), episode.last_qbr_on):
                    episode.resolved_at = utcnow()
                    summary.resolved += 1
                    continue
                client = await find_client(session, episode.client_id)
                squad_id = (client.squad_id if client else None) or episode.squad_id
                messages = rules.qbr_escalation(
                    episode.client_id, client.name if client else None, episode.due_on, squad_id, squad_heads
                )
                if not messages:
                    summary.without_head += 1
                summary.notified += await deliver(session, f"qbr-escalation:{episode.id}", messages, email)
                episode.escalated_at = utcnow()
                summary.episodes += 1
        if len(episodes) < BATCH:
            return summary
