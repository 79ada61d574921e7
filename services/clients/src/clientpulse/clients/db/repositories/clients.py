"""Queries and writes of the ``clients`` table (client profiles), and who may see which."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Company
from clientpulse.shared.identity import Identity, Role


def visible_to(identity: Identity) -> ColumnElement[bool]:
    """The SQL form of the object-level rule: who sees which client (docs/access.md)."""
    if identity.sees_all_clients:
        return true()
    if identity.role is not Role.MANAGER:
        return false()
    mine = [Client.dm_id == identity.sub]
    if identity.squad:
        mine.append(Client.squad_id == identity.squad)
    return or_(*mine)


@dataclass(frozen=True, slots=True)
class ClientFilters:
    """What the client list can be narrowed by (None: no filter)."""

    status: str | None = None
    tier: str | None = None
    unscored: bool = False
    health_band: str | None = None
    stale_before: datetime | None = None
    stale: bool | None = None
    dm_id: str | None = None
    squad_id: str | None = None
    group_id: str | None = None
    text: str | None = None
    today: date | None = None
    qbr_overdue: bool | None = None
    check_in_overdue: bool | None = None
    senior_dm_missing: bool | None = None
    senior_dms: frozenset[str] = frozenset()


def qbr_overdue_clause(today: date) -> ColumnElement[bool]:
    """An Active client past its QBR due date (docs/domain-rules.md, "QBRs")."""
    return and_(Client.status == "Active", Client.qbr_due_on < today)


def check_in_overdue_clause(today: date) -> ColumnElement[bool]:
    """An Active Platinum client past its monthly check-in due date."""
    return and_(Client.status == "Active", Client.tier == "Platinum", Client.check_in_due_on < today)


def senior_dm_missing_clause(senior_dms: frozenset[str]) -> ColumnElement[bool]:
    """A Platinum client whose DM is not one of the senior DMs; nobody is flagged when none are configured."""
    if not senior_dms:
        return false()
    return and_(Client.tier == "Platinum", or_(Client.dm_id.is_(None), Client.dm_id.not_in(sorted(senior_dms))))


def _flag(clause: ColumnElement[bool], wanted: bool) -> ColumnElement[bool]:
    # A missing due date makes the clause NULL, which must read as "not flagged".
    return clause if wanted else ~func.coalesce(clause, false())


# Sort keys of the client list. Nullable ones sort through a stand-in value (no health: -1, no due
# date: the far future) so keyset pagination sees a total order.
SORTS: dict[str, Any] = {
    "created": Client.id,
    "name": Company.name_key,
    "health": func.coalesce(Client.health_score, -1),
    "next_qbr_due": func.coalesce(Client.qbr_due_on, date(9999, 12, 31)),
}


# Built once: composing the statement cost as much per read as running it.
_WITH_COMPANY = (
    select(Client, Company).join(Company, Company.id == Client.id).where(Client.id == bindparam("client_id"))
)


class ClientRepository:
    """Client profiles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> Client | None:
        """One client profile by id (the company's id)."""
        return await self.session.get(Client, client_id)

    async def get_for_update(self, client_id: str) -> Client | None:
        """One client profile, its row locked until the unit of work ends.

        For replicating facts from events: two events of one client handled at once (a fetched batch
        runs concurrently) would otherwise both read the old row, and the later commit would win even
        when it carries the older fact.
        """
        return await self.session.get(Client, client_id, with_for_update=True, populate_existing=True)

    async def get_with_company(self, client_id: str) -> tuple[Client, Company] | None:
        """A client and its company in one query."""
        row = (await self.session.execute(_WITH_COMPANY, {"client_id": client_id})).first()
        return (row[0], row[1]) if row else None

    def add(self, client: Client) -> None:
        """Stage a new client profile."""
        self.session.add(client)

    async def apply_scores(self, scores: Sequence[tuple[str, Decimal]], at: datetime) -> None:
        """Set many clients' replicated scores as of ``at`` in one batched statement; a client whose score
        came from a newer event keeps it (newer fact wins)."""
        if not scores:
            return
        table = cast(Table, Client.__table__)
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                or_(table.c.score_at.is_(None), table.c.score_at <= bindparam("b_at", type_=table.c.score_at.type)),
            )
            .values(tier_score=bindparam("b_score"), score_at=bindparam("b_at"))
        )
        rows = [{"b_id": client_id, "b_score": score, "b_at": at} for client_id, score in scores]
        await self.session.execute(statement, rows)

    async def list_visible(
        self,
        identity: Identity,
        filters: ClientFilters,
        *,
        sort: str = "created",
        descending: bool = False,
        after: tuple[Any, str] | None = None,
        limit: int,
    ) -> Sequence[tuple[Client, Company]]:
        """The clients the caller may see, filtered, in ``sort`` order with the id breaking ties."""
        key = SORTS[sort]
        query = select(Client, Company).join(Company, Company.id == Client.id).where(visible_to(identity))
        query = query.where(*self._conditions(filters))
        if after is not None:
            value, last_id = after
            if sort == "created":
                query = query.where(Client.id < last_id if descending else Client.id > last_id)
            elif descending:
                query = query.where(or_(key < value, and_(key == value, Client.id < last_id)))
            else:
                query = query.where(or_(key > value, and_(key == value, Client.id > last_id)))
        if sort == "created":
            order = [Client.id.desc() if descending else Client.id]
        else:
            order = [key.desc(), Client.id.desc()] if descending else [key, Client.id]
        query = query.order_by(*order).limit(limit)
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    @staticmethod
    def _conditions(filters: ClientFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.status:
            conditions.append(Client.status == filters.status)
        if filters.unscored:
            conditions.append(Client.tier.is_(None))
        elif filters.tier:
            conditions.append(Client.tier == filters.tier)
        if filters.health_band:
            conditions.append(Client.health_band == filters.health_band)
        if filters.stale is not None and filters.stale_before is not None:
            old = Client.ratings_recorded_at < filters.stale_before
            conditions.append(old if filters.stale else or_(Client.ratings_recorded_at.is_(None), ~old))
        if filters.dm_id:
            conditions.append(Client.dm_id == filters.dm_id)
        if filters.squad_id:
            conditions.append(Client.squad_id == filters.squad_id)
        if filters.group_id:
            conditions.append(Client.parent_id == filters.group_id)
        if filters.text:
            conditions.append(Company.name_key.contains(filters.text.strip().lower(), autoescape=True))
        today = filters.today or date.today()
        if filters.qbr_overdue is not None:
            conditions.append(_flag(qbr_overdue_clause(today), filters.qbr_overdue))
        if filters.check_in_overdue is not None:
            conditions.append(_flag(check_in_overdue_clause(today), filters.check_in_overdue))
        if filters.senior_dm_missing is not None:
            conditions.append(_flag(senior_dm_missing_clause(filters.senior_dms), filters.senior_dm_missing))
        return conditions

    async def hidden_from(self, identity: Identity, client_ids: set[str]) -> set[str]:
        """Which of these ids name no client the caller may see."""
        if identity.sees_all_clients or not client_ids:
            return set()
        query = select(Client.id).where(Client.id.in_(client_ids), visible_to(identity))
        return client_ids - set((await self.session.scalars(query)).all())

    async def parent_of(self, client_id: str) -> str | None:
        """A client's parent in its group account."""
        return await self.session.scalar(select(Client.parent_id).where(Client.id == client_id))

    async def members(self, identity: Identity, parent_id: str) -> Sequence[tuple[Client, Company]]:
        """The direct members of a group account the caller may see, by name."""
        query = (
            select(Client, Company)
            .join(Company, Company.id == Client.id)
            .where(Client.parent_id == parent_id, visible_to(identity))
            .order_by(Company.name_key, Client.id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def needing_attention(
        self, identity: Identity, *, today: date, low_health_below: int, limit: int
    ) -> tuple[tuple[int, int, int], Sequence[tuple[Client, Company]]]:
        """Visible Active clients with an overdue QBR, with low health, with an overdue check-in (the three
        counts), and the first clients of any of them."""
        base = and_(visible_to(identity), Client.status == "Active")
        overdue = Client.qbr_due_on < today
        low = Client.health_score < low_health_below
        check_in = check_in_overdue_clause(today)
        counts = (
            await self.session.execute(
                select(
                    func.count().filter(overdue),
                    func.count().filter(low),
                    func.count().filter(check_in),
                ).where(base)
            )
        ).one()
        rows = (
            await self.session.execute(
                select(Client, Company)
                .join(Company, Company.id == Client.id)
                .where(base, or_(overdue, low, check_in))
                .order_by(Client.id)
                .limit(limit)
            )
        ).all()
        return (int(counts[0]), int(counts[1]), int(counts[2])), [(row[0], row[1]) for row in rows]

    async def overdue_unreported(self, *, today: date, limit: int) -> Sequence[Client]:
        """Active clients past their QBR due date whose current overdue episode was not yet announced."""
        query = (
            select(Client)
            .where(
                Client.status == "Active",
                Client.qbr_due_on < today,
                or_(Client.qbr_overdue_reported_for.is_(None), Client.qbr_overdue_reported_for != Client.qbr_due_on),
            )
            .order_by(Client.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def mark_overdue_reported(self, client_id: str, due_on: date) -> None:
        """Remember that the overdue episode of ``due_on`` was announced."""
        await self.session.execute(update(Client).where(Client.id == client_id).values(qbr_overdue_reported_for=due_on))

    async def check_ins_unreported(self, *, today: date, remind_until: date, limit: int) -> Sequence[Client]:
        """Active Platinum clients whose check-in falls due by ``remind_until`` without its reminder announced,
        or is past due without its overdue episode announced."""
        due_soon = and_(
            Client.check_in_due_on >= today,
            Client.check_in_due_on <= remind_until,
            or_(
                Client.check_in_due_reported_for.is_(None),
                Client.check_in_due_reported_for != Client.check_in_due_on,
            ),
        )
        overdue = and_(
            Client.check_in_due_on < today,
            or_(
                Client.check_in_overdue_reported_for.is_(None),
                Client.check_in_overdue_reported_for != Client.check_in_due_on,
            ),
        )
        query = (
            select(Client)
            .where(Client.status == "Active", Client.tier == "Platinum", or_(due_soon, overdue))
            .order_by(Client.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()
