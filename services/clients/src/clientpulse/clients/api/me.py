"""The caller's own views: the attention count of the sidebar."""

from __future__ import annotations

from litestar import get

from clientpulse.clients.api.schemas.attention import AttentionClient, AttentionRead
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.domain.check_ins import check_in_overdue
from clientpulse.clients.domain.health import LOW_HEALTH_BELOW
from clientpulse.shared.contracts.events import ClientStatus, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.service import Caller, Db

ATTENTION_LIST_LIMIT = 100


class MeController(ClientsModuleController):
    """``/api/v1/me``"""

    path = "/api/v1/me"
    tags = ["me"]

    @get(
        "/attention",
        summary="How many of the caller's Active clients need attention",
        description="Overdue QBRs, health below 40 and overdue Platinum check-ins among the caller's visible Active "
        "clients, with the "
        f"breakdown and up to {ATTENTION_LIST_LIMIT} of the clients. Manager and above; 403 for Lead and Employee.",
    )
    async def attention(self, identity: Caller, db: Db) -> AttentionRead:
        today = utcnow().date()
        async with db.reading() as session:
            (overdue, low, check_ins), rows = await ClientRepository(session).needing_attention(
                identity, today=today, low_health_below=LOW_HEALTH_BELOW, limit=ATTENTION_LIST_LIMIT
            )
        clients = [
            AttentionClient(
                client_id=client.id,
                name=company.name,
                qbr_overdue=client.qbr_due_on is not None and client.qbr_due_on < today,
                low_health=client.health_score is not None and client.health_score < LOW_HEALTH_BELOW,
                next_qbr_due_on=client.qbr_due_on,
                health_score=client.health_score,
                check_in_overdue=check_in_overdue(
                    ClientStatus(client.status),
                    Tier(client.tier) if client.tier else None,
                    client.check_in_due_on,
                    today,
                ),
                next_check_in_due_on=client.check_in_due_on,
            )
            for client, company in rows
        ]
        return AttentionRead(
            count=overdue + low + check_ins,
            overdue_qbrs=overdue,
            low_health=low,
            overdue_check_ins=check_ins,
            clients=clients,
        )
