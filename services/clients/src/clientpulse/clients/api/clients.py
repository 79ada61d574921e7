"""Client profiles: the list, one client, changes to it and its history feed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import get, patch
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.api.deps import SeniorDmsDep
from clientpulse.clients.api.pagination import Cursor
from clientpulse.clients.api.schemas.clients import ClientRead, ClientUpdate
from clientpulse.clients.api.schemas.history import HistoryRead
from clientpulse.clients.db.models import Client
from clientpulse.clients.db.repositories.clients import SORTS, ClientFilters, ClientRepository
from clientpulse.clients.db.repositories.history import HistoryRepository
from clientpulse.clients.domain.assignment import assign
from clientpulse.clients.domain.clients import visible_client
from clientpulse.clients.domain.groups import set_parent
from clientpulse.clients.domain.history import referenced_clients
from clientpulse.clients.domain.status import change_status
from clientpulse.shared.contracts.events import ClientStatus, HealthBand, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.identity import Identity
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.ratings import STALE_AFTER
from clientpulse.shared.service import Caller, Db

SORT_DESCRIPTION = "created, name, health or next_qbr_due; prefix with - for descending (default created)"


def _parse_sort(sort: str | None) -> tuple[str, bool]:
    raw = sort or "created"
    key, descending = raw.removeprefix("-"), raw.startswith("-")
    if key not in SORTS:
        raise Unprocessable(f"sort must be one of {', '.join(SORTS)} (prefix - for descending), got {raw!r}")
    return key, descending


def _sort_value(sort: str, client: Any, company: Any) -> Any:
    if sort == "name":
        return company.name_key
    if sort == "health":
        return client.health_score if client.health_score is not None else -1
    if sort == "next_qbr_due":
        return (client.qbr_due_on or date(9999, 12, 31)).isoformat()
    return None


def _cursor_position(sort: str, cursor: str | None) -> tuple[Any, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if position.get("s") != sort or not isinstance(position.get("id"), str):
        raise Unprocessable("cursor belongs to another sort order: start again without a cursor")
    value: Any = position.get("k")
    try:
        if sort == "next_qbr_due":
            value = date.fromisoformat(value)
        elif sort == "health":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(value)
        elif sort == "name" and not isinstance(value, str):
            raise TypeError(value)
    except (TypeError, ValueError) as exc:
        raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from exc
    return value, position["id"]


class ClientController(ClientsModuleController):
    """``/api/v1/clients``"""

    path = "/api/v1/clients"
    tags = ["clients"]

    @get(
        "/",
        summary="List the clients the caller may see",
        description="Filters combine; each row carries tier, health band and colour, stale flag, next QBR due "
        "and the overdue flag, next check-in due and its overdue flag, and the senior-DM flag. "
        "`tier=unscored` lists clients tiering has not scored yet.",
    )
    async def list_clients(
        self,
        identity: Caller,
        db: Db,
        senior_dms: SeniorDmsDep,
        status: FromQuery[ClientStatus | None] = None,
        tier: Annotated[str | None, QueryParameter(description="Platinum, Core, Standard, Review or unscored")] = None,
        health_band: FromQuery[HealthBand | None] = None,
        stale: FromQuery[bool | None] = None,
        dm_id: Annotated[str | None, QueryParameter(max_length=120)] = None,
        squad_id: Annotated[str | None, QueryParameter(max_length=120)] = None,
        group_id: Annotated[str | None, QueryParameter(max_length=64, description="members of this parent")] = None,
        q: Annotated[str | None, QueryParameter(max_length=200, description="text in the name")] = None,
        qbr_overdue: FromQuery[bool | None] = None,
        check_in_overdue: FromQuery[bool | None] = None,
        senior_dm_missing: FromQuery[bool | None] = None,
        sort: Annotated[str | None, QueryParameter(max_length=20, description=SORT_DESCRIPTION)] = None,
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[ClientRead]:
        size = clamp_limit(limit)
        sort_key, descending = _parse_sort(sort)
        after = _cursor_position(sort_key, cursor)
        if tier is not None and tier != "unscored" and tier not in Tier.__members__.values():
            raise Unprocessable(f"tier must be one of {', '.join(Tier)} or unscored, got {tier!r}")
        now = utcnow()
        filters = ClientFilters(
            status=status.value if status else None,
            tier=tier if tier != "unscored" else None,
            unscored=tier == "unscored",
            health_band=health_band.value if health_band else None,
            stale=stale,
            stale_before=now - STALE_AFTER,
            dm_id=dm_id,
            squad_id=squad_id,
            group_id=group_id,
            text=q,
            today=now.date(),
            qbr_overdue=qbr_overdue,
            check_in_overdue=check_in_overdue,
            senior_dm_missing=senior_dm_missing,
            senior_dms=senior_dms.ids,
        )
        async with db.reading() as session:
            rows = await ClientRepository(session).list_visible(
                identity, filters, sort=sort_key, descending=descending, after=after, limit=size + 1
            )
            parents = {client.parent_id for client, _ in rows[:size] if client.parent_id}
            hidden = frozenset(await ClientRepository(session).hidden_from(identity, parents))
        items = [
            ClientRead.of(client, company, now=now, hidden=hidden, senior_dms=senior_dms)
            for client, company in rows[:size]
        ]
        next_cursor = None
        if len(rows) > size:
            last_client, last_company = rows[size - 1]
            next_cursor = encode_cursor(
                {"s": sort_key, "k": _sort_value(sort_key, last_client, last_company), "id": last_client.id}
            )
        return Page[ClientRead](items=items, next_cursor=next_cursor)

    @get("/{client_id:str}", summary="Read a client")
    async def get_client(
        self, identity: Caller, db: Db, senior_dms: SeniorDmsDep, client_id: FromPath[str]
    ) -> ClientRead:
        async with db.reading() as session:
            client, company = await visible_client(session, identity, client_id)
            hidden = await _hidden_parent(session, identity, client)
        return ClientRead.of(client, company, hidden=hidden, senior_dms=senior_dms)

    @patch(
        "/{client_id:str}",
        summary="Change a client's status, assignment or group parent",
        description="Status moves between Prospect, Active, Dormant and Alumni with an optional reason. "
        "Assigning the DM and squad is for Executives and Heads (403 otherwise). A parent that would "
        "make a cycle is a 409; the client itself as parent is a 422.",
    )
    async def update_client(
        self, identity: Caller, db: Db, senior_dms: SeniorDmsDep, client_id: FromPath[str], data: JSONBody[ClientUpdate]
    ) -> ClientRead:
        fields = data.model_fields_set
        async with db.transaction() as session:
            client, company = await visible_client(session, identity, client_id)
            if "dm_id" in fields or "squad_id" in fields:
                await assign(
                    session,
                    identity,
                    client,
                    dm_id=data.dm_id if "dm_id" in fields else client.dm_id,
                    squad_id=data.squad_id if "squad_id" in fields else client.squad_id,
                    senior_dms=senior_dms,
                )
            if "parent_id" in fields:
                await set_parent(session, identity, client, data.parent_id)
            if data.status is not None:
                await change_status(session, identity, client, data.status, data.status_reason)
            hidden = await _hidden_parent(session, identity, client)
        return ClientRead.of(client, company, hidden=hidden, senior_dms=senior_dms)

    @get(
        "/{client_id:str}/history",
        summary="A client's history feed",
        description="Everything that happened to the client, newest first: its own changes and other "
        "services' events about it. Filter by `type` (repeatable) and a time window.",
    )
    async def history(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        # A query string has no null: documented as the array it is, which clients send as repeated ``type``.
        entry_type: Annotated[
            list[str] | None,
            QueryParameter(
                name="type", max_items=20, schema_extra={"one_of": None, "type": "array", "items": {"type": "string"}}
            ),
        ] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[HistoryRead]:
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        before = None
        if position is not None:
            try:
                before = (datetime.fromisoformat(position["at"]), str(position["id"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from exc
        for moment in (since, until):
            if moment is not None and moment.tzinfo is None:
                raise Unprocessable("since and until need a time zone, e.g. 2026-11-01T00:00:00Z")
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await HistoryRepository(session).list(
                client_id, kinds=entry_type, since=since, until=until, before=before, limit=size + 1
            )
            mentioned = set().union(
                *(referenced_clients(entry.kind, entry.line, entry.details) for entry in rows[:size])
            )
            hidden = await ClientRepository(session).hidden_from(identity, mentioned)
        items = [HistoryRead.of(entry, hidden) for entry in rows[:size]]
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor({"at": last.occurred_at.isoformat(), "id": last.id})
        return Page[HistoryRead](items=items, next_cursor=next_cursor)


async def _hidden_parent(session: AsyncSession, identity: Identity, client: Client) -> frozenset[str]:
    parents = {client.parent_id} if client.parent_id else set()
    return frozenset(await ClientRepository(session).hidden_from(identity, parents))
