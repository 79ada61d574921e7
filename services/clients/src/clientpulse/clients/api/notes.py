"""A client's notes and replies."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.notes import NoteCreate, NoteRead, NoteRevisionRead, NoteUpdate
from clientpulse.clients.db.models import NoteRevision
from clientpulse.clients.db.repositories.notes import NoteRepository
from clientpulse.clients.domain import notes
from clientpulse.clients.domain.clients import visible_client
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


def _revision_read(revision: NoteRevision) -> NoteRevisionRead:
    return NoteRevisionRead(body=revision.body, replaced_by=revision.replaced_by, replaced_at=revision.replaced_at)


def _by_note(revisions: Sequence[NoteRevision]) -> dict[str, list[NoteRevisionRead]]:
    by_note: dict[str, list[NoteRevisionRead]] = {}
    for revision in revisions:
        by_note.setdefault(revision.note_id, []).append(_revision_read(revision))
    return by_note


class NoteController(ClientsModuleController):
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
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            repository = NoteRepository(session)
            rows = await repository.list(client_id, after_id=request.after_id, limit=request.fetch_limit)
            revisions = await repository.revisions([row.id for row in request.shown(rows)])
        by_note = _by_note(revisions)
        return request.page(NoteRead, rows, lambda note: NoteRead.of(note, by_note.get(note.id)))

    @post("/", summary="Write a note or a reply", status_code=HTTP_201_CREATED)
    async def add_note(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[NoteCreate]
    ) -> Response[NoteRead]:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            note = await notes.add_note(session, identity, client, data.body, data.parent_id)
        return Response(
            NoteRead.of(note),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/notes/{note.id}"},
        )

    @patch("/{note_id:str}", summary="Edit a note; the previous text is kept in its history")
    async def edit_note(
        self, identity: Caller, db: Db, client_id: FromPath[str], note_id: FromPath[str], data: JSONBody[NoteUpdate]
    ) -> NoteRead:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            note = await notes.edit_note(session, identity, client, note_id, data.body)
            revisions = await NoteRepository(session).revisions([note.id])
        return NoteRead.of(note, [_revision_read(revision) for revision in revisions])

    @delete(
        "/{note_id:str}", summary="Delete a note (soft: it stays in the audit trail)", status_code=HTTP_204_NO_CONTENT
    )
    async def delete_note(self, identity: Caller, db: Db, client_id: FromPath[str], note_id: FromPath[str]) -> None:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            await notes.delete_note(session, identity, client, note_id)
