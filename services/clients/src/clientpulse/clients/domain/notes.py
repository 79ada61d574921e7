"""Notes on a client: threads of markdown notes and replies; an edit keeps the earlier text and a
deletion keeps the note for the audit trail.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Client, Note, NoteRevision
from clientpulse.clients.db.repositories.notes import NoteRepository
from clientpulse.clients.domain.history import add_entry
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from clientpulse.shared.identity import Identity


async def add_note(session: AsyncSession, identity: Identity, client: Client, body: str, parent_id: str | None) -> Note:
    """Write a note, or a reply to one of the client's notes."""
    notes = NoteRepository(session)
    if parent_id is not None:
        parent = await notes.get(client.id, parent_id)
        if parent is None:
            raise Unprocessable(f"parent note {parent_id} was not found on this client")
        if parent.deleted_at is not None:
            raise Conflict(f"note {parent_id} was deleted; it takes no replies")
    now = utcnow()
    note = Note(
        id=new_event_id(),
        client_id=client.id,
        parent_id=parent_id,
        author_id=identity.sub,
        body=body,
        created_at=now,
        updated_at=now,
    )
    notes.add(note)
    add_entry(
        session,
        client_id=client.id,
        kind="NoteAdded",
        line="Reply added" if parent_id else "Note added",
        actor=identity.sub,
        details={"note_id": note.id},
    )
    return note


async def _live_note(session: AsyncSession, client: Client, note_id: str) -> Note:
    note = await NoteRepository(session).get(client.id, note_id)
    if note is None or note.deleted_at is not None:
        raise NotFound(f"note {note_id} was not found")
    return note


async def edit_note(session: AsyncSession, identity: Identity, client: Client, note_id: str, body: str) -> Note:
    """Change a note's text; the previous text is kept."""
    note = await _live_note(session, client, note_id)
    if note.author_id != identity.sub and not identity.sees_all_clients:
        raise Forbidden("only the author, an Executive or a Head may edit a note")
    if body == note.body:
        return note
    now = utcnow()
    NoteRepository(session).add(
        NoteRevision(id=new_event_id(), note_id=note.id, body=note.body, replaced_by=identity.sub, replaced_at=now)
    )
    note.body, note.updated_at = body, now
    add_entry(session, client_id=client.id, kind="NoteEdited", line="Note edited", actor=identity.sub,
              details={"note_id": note.id})  # fmt: skip
    return note


async def delete_note(session: AsyncSession, identity: Identity, client: Client, note_id: str) -> None:
    """Mark a note deleted; its text stays for the audit trail but is no longer shown."""
    note = await _live_note(session, client, note_id)
    if note.author_id != identity.sub and not identity.sees_all_clients:
        raise Forbidden("only the author, an Executive or a Head may delete a note")
    note.deleted_at, note.deleted_by = utcnow(), identity.sub
    add_entry(session, client_id=client.id, kind="NoteDeleted", line="Note deleted", actor=identity.sub,
              details={"note_id": note.id})  # fmt: skip
