"""The Platinum tier's named senior DM (docs/domain-rules.md, "Tier service approach"): a Platinum client's DM
must be one of the configured senior DMs; otherwise the client is flagged and the Heads are told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client
from clientpulse.clients.domain.history import emit
from clientpulse.shared.contracts.events import SeniorDmMissing, Tier


@dataclass(frozen=True, slots=True)
class SeniorDms:
    """The user ids of the senior DMs (``CLIENTPULSE_CLIENTS_SENIOR_DMS``); none configured turns the rule off."""

    ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ids: Iterable[str]) -> SeniorDms:
        """The configured senior DMs."""
        return cls(frozenset(ids))

    def missing(self, tier: str | Tier | None, dm_id: str | None) -> bool:
        """Whether a client of this tier and DM lacks the senior DM its tier needs."""
        if not self.ids or tier != Tier.PLATINUM.value:
            return False
        return dm_id not in self.ids

    def client_missing(self, client: Client) -> bool:
        """Whether the client lacks the senior DM its tier needs."""
        return self.missing(client.tier, client.dm_id)


async def tell_if_senior_dm_missing(
    session: AsyncSession, senior_dms: SeniorDms, client: Client, *, was_missing: bool
) -> bool:
    """Publish SeniorDmMissing when the client has just started to lack a senior DM (its tier or DM changed)."""
    if was_missing or not senior_dms.client_missing(client):
        return False
    who = f"DM {client.dm_id}" if client.dm_id else "no DM"
    await emit(
        session,
        SeniorDmMissing(client_id=client.id, dm_id=client.dm_id, squad_id=client.squad_id),
        line=f"Platinum client looked after by {who}, not a senior DM",
        actor=None,
    )
    return True
