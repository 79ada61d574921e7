"""Queries and writes of notes and their earlier texts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Note, NoteRevision


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
