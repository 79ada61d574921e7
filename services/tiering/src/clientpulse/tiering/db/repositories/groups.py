"""Group accounts: their members in the client directory, and the members' ledger revenue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.identity import Identity
from clientpulse.tiering.db.models import LedgerInvoice

# Deeper than any agency's group; it also bounds the walk should the replica ever hold a cycle.
MAX_GROUP_DEPTH = 32

# Every level below a group; the depth bound ends the walk round a cycle, which the caller then refuses.
_DESCENDANTS = text("""
WITH RECURSIVE tree(client_id, depth) AS (
    SELECT client_id, 1 FROM client_directory WHERE parent_id = :group
    UNION ALL
    SELECT d.client_id, t.depth + 1 FROM client_directory d JOIN tree t ON d.parent_id = t.client_id
    WHERE t.depth < :depth
)
SELECT t.client_id, MIN(t.depth) AS depth, d.name, d.dm_id, d.squad_id
FROM tree t JOIN client_directory d ON d.client_id = t.client_id
GROUP BY t.client_id, d.name, d.dm_id, d.squad_id
ORDER BY MIN(t.depth), t.client_id
""")

_ANCESTORS = text("""
WITH RECURSIVE chain(client_id, depth) AS (
    SELECT parent_id, 1 FROM client_directory WHERE client_id = :client AND parent_id IS NOT NULL
    UNION ALL
    SELECT d.parent_id, c.depth + 1 FROM client_directory d JOIN chain c ON d.client_id = c.client_id
    WHERE d.parent_id IS NOT NULL AND c.depth < :depth
)
SELECT client_id, depth FROM chain ORDER BY depth
""")


class GroupCycle(Exception):
    """A group is below itself in the replica of the hierarchy (the clients service refuses such a change,
    so only events applied out of order could show one, until the next one arrives)."""

    def __init__(self, group_id: str) -> None:
        super().__init__(f"client {group_id} is below itself in its group's hierarchy")
        self.group_id = group_id


class GroupRepository:
    """Group accounts from the client replica, and their members' ledger revenue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members(self, identity: Identity, group_id: str) -> list[tuple[str, str | None]]:
        """(client id, name) of the clients below ``group_id`` at every level (children, their children, …)
        whom the caller may see; ``GroupCycle`` when the group turns out to be below itself."""
        rows = (await self.session.execute(_DESCENDANTS, {"group": group_id, "depth": MAX_GROUP_DEPTH})).all()
        if any(row.client_id == group_id for row in rows):
            raise GroupCycle(group_id)
        seen: dict[str, tuple[str, str | None]] = {}
        for row in rows:
            if row.client_id not in seen and identity.can_access_client(dm_id=row.dm_id, squad_id=row.squad_id):
                seen[row.client_id] = (row.client_id, row.name)
        return sorted(seen.values())

    async def parents(self) -> list[str]:
        """Every client that is the parent of another: each one is a group with a portfolio."""
        directory = client_directory.c
        query = select(directory.parent_id).where(directory.parent_id.is_not(None)).distinct()
        return sorted(str(value) for value in (await self.session.execute(query)).scalars())

    async def has_members(self, client_id: str) -> bool:
        """Whether a client is the parent of another."""
        directory = client_directory.c
        query = select(directory.client_id).where(directory.parent_id == client_id).limit(1)
        return (await self.session.execute(query)).first() is not None

    async def ancestors(self, client_id: str) -> list[str]:
        """The groups above a client, nearest first (a cycle ends the walk)."""
        rows = (await self.session.execute(_ANCESTORS, {"client": client_id, "depth": MAX_GROUP_DEPTH})).all()
        found: list[str] = []
        for row in rows:
            if row.client_id != client_id and row.client_id not in found:
                found.append(row.client_id)
        return found

    async def daily_totals(self, client_ids: list[str], since: date, until: date) -> list[tuple[str, str, date, int]]:
        """(client id, currency, day, amount in minor units) per client, currency and issue day in the window."""
        query = (
            select(
                LedgerInvoice.client_id,
                LedgerInvoice.currency,
                LedgerInvoice.issued_on,
                func.sum(LedgerInvoice.amount_minor),
            )
            .where(
                LedgerInvoice.client_id.in_(client_ids),
                LedgerInvoice.issued_on >= since,
                LedgerInvoice.issued_on <= until,
            )
            .group_by(LedgerInvoice.client_id, LedgerInvoice.currency, LedgerInvoice.issued_on)
        )
        return [(r[0], r[1], r[2], int(r[3] or 0)) for r in (await self.session.execute(query)).all()]
