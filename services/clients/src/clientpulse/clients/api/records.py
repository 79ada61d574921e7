"""What is recorded on a client: health scores, QBRs, goals and notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from clientpulse.clients.api.base import ClientsApiController
from clientpulse.clients.api.schemas import (
    GoalCreate,
    GoalRead,
    GoalUpdate,
    HealthCreate,
    HealthRead,
    NoteCreate,
    NoteRead,
    NoteRevisionRead,
    NoteUpdate,
    QbrCreate,
    QbrRead,
    QbrUpdate,
)
from clientpulse.clients.db.repositories import GoalRepository, HealthRepository, NoteRepository, QbrRepository
from clientpulse.clients.domain import profiles, services
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound
from clientpulse.shared.pagination import Page, clamp_limit, cursor_id, next_cursor_after
from clientpulse.shared.service import Caller, Db

Cursor = Annotated[str | None, QueryParameter(max_length=500)]


class HealthController(ClientsApiController):
    """``/api/v1/clients/{client_id}/health``"""

    path = "/api/v1/clients/{client_id:str}/health"
    tags = ["health"]

    @get("/", summary="A client's health scores, newest first")
    async def list_health(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[HealthRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            rows = await HealthRepository(session).list(client_id, before_id=cursor_id(cursor), limit=size + 1)
        next_cursor = next_cursor_after(rows, size)
        return Page[HealthRead](items=[HealthRead.of(row) for row in rows[:size]], next_cursor=next_cursor)

    @post(
        "/",
        summary="Record a health score",
        description="An integer 0–100; Green 70–100, Amber 40–69, Red 0–39.",
        status_code=HTTP_201_CREATED,
    )
    async def record_health(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[HealthCreate]
    ) -> HealthRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            entry = await profiles.record_health(session, identity, client, data.score, data.note)
        return HealthRead.of(entry)


class QbrController(ClientsApiController):
    """``/api/v1/clients/{client_id}/qbrs``"""

    path = "/api/v1/clients/{client_id:str}/qbrs"
    tags = ["QBRs"]

    @get("/", summary="A client's QBRs, most recently logged first")
    async def list_qbrs(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[QbrRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            rows = await QbrRepository(session).list(client_id, before_id=cursor_id(cursor), limit=size + 1)
        next_cursor = next_cursor_after(rows, size)
        return Page[QbrRead](items=[QbrRead.of(row) for row in rows[:size]], next_cursor=next_cursor)

    @post("/", summary="Log a held QBR", status_code=HTTP_201_CREATED)
    async def log_qbr(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[QbrCreate]
    ) -> Response[QbrRead]:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            qbr = await profiles.log_qbr(
                session,
                identity,
                client,
                profiles.QbrInput(
                    held_on=data.held_on,
                    internal_attendees=data.internal_attendees,
                    client_attendees=data.client_attendees,
                    summary=data.summary,
                    outcomes=data.outcomes,
                ),
            )
        return Response(
            QbrRead.of(qbr),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/qbrs/{qbr.id}"},
        )

    @get("/{qbr_id:str}", summary="Read a QBR")
    async def get_qbr(self, identity: Caller, db: Db, client_id: FromPath[str], qbr_id: FromPath[str]) -> QbrRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            qbr = await QbrRepository(session).get(client_id, qbr_id)
        if qbr is None:
            raise NotFound(f"QBR {qbr_id} was not found")
        return QbrRead.of(qbr)

    @patch("/{qbr_id:str}", summary="Correct a logged QBR")
    async def update_qbr(
        self, identity: Caller, db: Db, client_id: FromPath[str], qbr_id: FromPath[str], data: JSONBody[QbrUpdate]
    ) -> QbrRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            qbr = await profiles.update_qbr(session, identity, client, qbr_id, data.model_dump(exclude_unset=True))
        return QbrRead.of(qbr)


class GoalController(ClientsApiController):
    """``/api/v1/clients/{client_id}/goals``"""

    path = "/api/v1/clients/{client_id:str}/goals"
    tags = ["goals"]

    @get("/", summary="A client's goals with their status by the pace rule")
    async def list_goals(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[GoalRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        today = utcnow().date()
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            rows = await GoalRepository(session).list(client_id, after_id=cursor_id(cursor), limit=size + 1)
        next_cursor = next_cursor_after(rows, size)
        return Page[GoalRead](items=[GoalRead.of(row, today=today) for row in rows[:size]], next_cursor=next_cursor)

    @post("/", summary="Set a goal", status_code=HTTP_201_CREATED)
    async def create_goal(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[GoalCreate]
    ) -> Response[GoalRead]:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            fields = profiles.GoalInput(**(data.model_dump() | {"current": data.current or Decimal(0)}))
            goal = await profiles.create_goal(session, identity, client, fields)
        return Response(
            GoalRead.of(goal, today=utcnow().date()),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/goals/{goal.id}"},
        )

    @get("/{goal_id:str}", summary="Read a goal")
    async def get_goal(self, identity: Caller, db: Db, client_id: FromPath[str], goal_id: FromPath[str]) -> GoalRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            goal = await GoalRepository(session).get(client_id, goal_id)
        if goal is None:
            raise NotFound(f"goal {goal_id} was not found")
        return GoalRead.of(goal, today=utcnow().date())

    @patch("/{goal_id:str}", summary="Update or close a goal")
    async def update_goal(
        self, identity: Caller, db: Db, client_id: FromPath[str], goal_id: FromPath[str], data: JSONBody[GoalUpdate]
    ) -> GoalRead:
        require_clients_module(identity)
        changes = data.model_dump(exclude_unset=True)
        close = bool(changes.pop("closed", False))
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            goal = await profiles.update_goal(session, identity, client, goal_id, changes, close)
        return GoalRead.of(goal, today=utcnow().date())


class NoteController(ClientsApiController):
    """``/api/v1/clients/{client_id}/notes``"""

    path = "/api/v1/clients/{client_id:str}/notes"
    tags = ["notes"]

    @get("/", summary="A client's notes in writing order; replies name their parent")
    async def list_notes(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[NoteRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        async with db.transaction() as session:
            await services.visible_client(session, identity, client_id)
            notes = NoteRepository(session)
            rows = await notes.list(client_id, after_id=cursor_id(cursor), limit=size + 1)
            revisions = await notes.revisions([row.id for row in rows[:size]])
        by_note: dict[str, list[NoteRevisionRead]] = {}
        for revision in revisions:
            by_note.setdefault(revision.note_id, []).append(
                NoteRevisionRead(body=revision.body, replaced_by=revision.replaced_by, replaced_at=revision.replaced_at)
            )
        next_cursor = next_cursor_after(rows, size)
        items = [NoteRead.of(row, by_note.get(row.id)) for row in rows[:size]]
        return Page[NoteRead](items=items, next_cursor=next_cursor)

    @post("/", summary="Write a note or a reply", status_code=HTTP_201_CREATED)
    async def add_note(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[NoteCreate]
    ) -> Response[NoteRead]:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            note = await profiles.add_note(session, identity, client, data.body, data.parent_id)
        return Response(
            NoteRead.of(note),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/notes/{note.id}"},
        )

    @patch("/{note_id:str}", summary="Edit a note; the previous text is kept in its history")
    async def edit_note(
        self, identity: Caller, db: Db, client_id: FromPath[str], note_id: FromPath[str], data: JSONBody[NoteUpdate]
    ) -> NoteRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            note = await profiles.edit_note(session, identity, client, note_id, data.body)
            revisions = await NoteRepository(session).revisions([note.id])
        history = [
            NoteRevisionRead(body=r.body, replaced_by=r.replaced_by, replaced_at=r.replaced_at) for r in revisions
        ]
        return NoteRead.of(note, history)

    @delete(
        "/{note_id:str}", summary="Delete a note (soft: it stays in the audit trail)", status_code=HTTP_204_NO_CONTENT
    )
    async def delete_note(self, identity: Caller, db: Db, client_id: FromPath[str], note_id: FromPath[str]) -> None:
        require_clients_module(identity)
        async with db.transaction() as session:
            client, _ = await services.visible_client(session, identity, client_id)
            await profiles.delete_note(session, identity, client, note_id)
