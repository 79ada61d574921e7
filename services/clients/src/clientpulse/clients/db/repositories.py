"""Repositories: queries and writes of the clients service's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import (
    Client,
    Company,
    ConversionPrompt,
    Goal,
    HealthScore,
    HistoryEntry,
    Note,
    NoteRevision,
    Qbr,
)
from clientpulse.shared.identity import Identity, Role


def visible_to(identity: Identity) -> ColumnElement[bool]:
    """The SQL form of DESIGN.md §7's object-level rule."""
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


# Sort keys of the client list. Nullable ones sort through a stand-in value (no health: -1, no due
# date: the far future) so keyset pagination sees a total order.
SORTS: dict[str, Any] = {
    "created": Client.id,
    "name": Company.name_key,
    "health": func.coalesce(Client.health_score, -1),
    "next_qbr_due": func.coalesce(Client.qbr_due_on, date(9999, 12, 31)),
}


class CompanyRepository:
    """Company records."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, company_id: str) -> Company | None:
        """One company by id."""
        return await self.session.get(Company, company_id)

    def add(self, company: Company) -> None:
        """Stage a new company (written at commit)."""
        self.session.add(company)

    async def find_by_domain(self, domain: str) -> Company | None:
        """The first company with this web domain, ignoring case."""
        query = select(Company).where(func.lower(Company.domain) == domain.lower()).order_by(Company.id).limit(1)
        return await self.session.scalar(query)

    async def find_by_name(self, name: str) -> Company | None:
        """The first company with exactly this name, ignoring case."""
        query = select(Company).where(Company.name_key == name.lower()).order_by(Company.id).limit(1)
        return await self.session.scalar(query)

    async def client_ids(self, company_ids: Sequence[str]) -> set[str]:
        """Which of these companies are clients."""
        if not company_ids:
            return set()
        return set((await self.session.scalars(select(Client.id).where(Client.id.in_(company_ids)))).all())

    async def list(self, *, search: str | None, after_id: str | None, limit: int) -> Sequence[Company]:
        """Companies in creation order (ids are time-ordered), optionally matching a name fragment."""
        query = select(Company).order_by(Company.id).limit(limit)
        if search:
            query = query.where(Company.name_key.contains(search.strip().lower(), autoescape=True))
        if after_id:
            query = query.where(Company.id > after_id)
        return (await self.session.scalars(query)).all()


class ClientRepository:
    """Client profiles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, client_id: str) -> Client | None:
        """One client profile by id (the company's id)."""
        return await self.session.get(Client, client_id)

    async def get_with_company(self, client_id: str) -> tuple[Client, Company] | None:
        """A client and its company in one query."""
        row = (
            await self.session.execute(
                select(Client, Company).join(Company, Company.id == Client.id).where(Client.id == client_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def add(self, client: Client) -> None:
        """Stage a new client profile."""
        self.session.add(client)

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
        return conditions

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
    ) -> tuple[int, int, Sequence[tuple[Client, Company]]]:
        """Visible Active clients with an overdue QBR, with low health, and the first of either."""
        base = and_(visible_to(identity), Client.status == "Active")
        overdue = Client.qbr_due_on < today
        low = Client.health_score < low_health_below
        counts = (
            await self.session.execute(
                select(
                    func.count().filter(overdue),
                    func.count().filter(low),
                ).where(base)
            )
        ).one()
        rows = (
            await self.session.execute(
                select(Client, Company)
                .join(Company, Company.id == Client.id)
                .where(base, or_(overdue, low))
                .order_by(Client.id)
                .limit(limit)
            )
        ).all()
        return int(counts[0]), int(counts[1]), [(row[0], row[1]) for row in rows]

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


class HealthRepository:
    """Recorded health scores."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, score: HealthScore) -> None:
        """Stage a new score."""
        self.session.add(score)

    async def list(self, client_id: str, *, before_id: str | None, limit: int) -> Sequence[HealthScore]:
        """A client's scores, newest first."""
        query = select(HealthScore).where(HealthScore.client_id == client_id)
        if before_id:
            query = query.where(HealthScore.id < before_id)
        return (await self.session.scalars(query.order_by(HealthScore.id.desc()).limit(limit))).all()


class QbrRepository:
    """Logged QBRs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, qbr: Qbr) -> None:
        """Stage a new QBR."""
        self.session.add(qbr)

    async def get(self, client_id: str, qbr_id: str) -> Qbr | None:
        """One QBR of a client."""
        return await self.session.scalar(select(Qbr).where(Qbr.client_id == client_id, Qbr.id == qbr_id))

    async def latest_held_on(self, client_id: str) -> date | None:
        """The date of the client's most recent QBR."""
        return await self.session.scalar(select(func.max(Qbr.held_on)).where(Qbr.client_id == client_id))

    async def list(self, client_id: str, *, before_id: str | None, limit: int) -> Sequence[Qbr]:
        """A client's QBRs, most recently logged first."""
        query = select(Qbr).where(Qbr.client_id == client_id)
        if before_id:
            query = query.where(Qbr.id < before_id)
        return (await self.session.scalars(query.order_by(Qbr.id.desc()).limit(limit))).all()


class GoalRepository:
    """Client goals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, goal: Goal) -> None:
        """Stage a new goal."""
        self.session.add(goal)

    async def get(self, client_id: str, goal_id: str) -> Goal | None:
        """One goal of a client."""
        return await self.session.scalar(select(Goal).where(Goal.client_id == client_id, Goal.id == goal_id))

    async def list(self, client_id: str, *, after_id: str | None, limit: int) -> Sequence[Goal]:
        """A client's goals in creation order."""
        query = select(Goal).where(Goal.client_id == client_id)
        if after_id:
            query = query.where(Goal.id > after_id)
        return (await self.session.scalars(query.order_by(Goal.id).limit(limit))).all()

    async def linked_open(self, client_id: str, metrics: Sequence[str]) -> Sequence[Goal]:
        """Open goals of a client linked to any of ``metrics``."""
        query = select(Goal).where(Goal.client_id == client_id, Goal.metric.in_(metrics), Goal.closed_at.is_(None))
        return (await self.session.scalars(query)).all()


class NoteRepository:
    """Notes and their edit history."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, note: Note | NoteRevision) -> None:
        """Stage a note or a revision."""
        self.session.add(note)

    async def get(self, client_id: str, note_id: str) -> Note | None:
        """One note of a client (deleted ones included)."""
        return await self.session.scalar(select(Note).where(Note.client_id == client_id, Note.id == note_id))

    async def list(self, client_id: str, *, after_id: str | None, limit: int) -> Sequence[Note]:
        """A client's notes in writing order, deleted ones included (shown as deleted)."""
        query = select(Note).where(Note.client_id == client_id)
        if after_id:
            query = query.where(Note.id > after_id)
        return (await self.session.scalars(query.order_by(Note.id).limit(limit))).all()

    async def revisions(self, note_ids: Sequence[str]) -> Sequence[NoteRevision]:
        """Earlier texts of these notes, oldest first."""
        if not note_ids:
            return []
        query = select(NoteRevision).where(NoteRevision.note_id.in_(note_ids)).order_by(NoteRevision.id)
        return (await self.session.scalars(query)).all()


class HistoryRepository:
    """The history feed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: HistoryEntry) -> None:
        """Stage an entry."""
        self.session.add(entry)

    async def list(
        self,
        client_id: str,
        *,
        kinds: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[HistoryEntry]:
        """A client's entries, newest first."""
        query = select(HistoryEntry).where(HistoryEntry.client_id == client_id)
        if kinds:
            query = query.where(HistoryEntry.kind.in_(kinds))
        if since:
            query = query.where(HistoryEntry.occurred_at >= since)
        if until:
            query = query.where(HistoryEntry.occurred_at < until)
        if before:
            at, last_id = before
            query = query.where(
                or_(HistoryEntry.occurred_at < at, and_(HistoryEntry.occurred_at == at, HistoryEntry.id < last_id))
            )
        query = query.order_by(HistoryEntry.occurred_at.desc(), HistoryEntry.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()


class ConversionPromptRepository:
    """Conversion prompts from won deals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, prompt_id: str) -> ConversionPrompt | None:
        """One prompt by id."""
        return await self.session.get(ConversionPrompt, prompt_id)

    async def get_by_deal(self, deal_id: str) -> ConversionPrompt | None:
        """The prompt a deal produced, if any."""
        return await self.session.scalar(select(ConversionPrompt).where(ConversionPrompt.deal_id == deal_id))

    def add(self, prompt: ConversionPrompt) -> None:
        """Stage a new prompt."""
        self.session.add(prompt)

    async def list(self, *, state: str | None, after_id: str | None, limit: int) -> Sequence[ConversionPrompt]:
        """Prompts in creation order, optionally in one state."""
        query = select(ConversionPrompt).order_by(ConversionPrompt.id).limit(limit)
        if state:
            query = query.where(ConversionPrompt.state == state)
        if after_id:
            query = query.where(ConversionPrompt.id > after_id)
        return (await self.session.scalars(query)).all()
