"""Request and response bodies of notes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from clientpulse.clients.db.models import Note
from clientpulse.shared.guards import InputModel


class NoteCreate(InputModel):
    """A note in markdown; a reply names its parent note."""

    body: str = Field(min_length=1, max_length=50000)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)


class NoteUpdate(InputModel):
    """A note's new text."""

    body: str = Field(min_length=1, max_length=50000)


class NoteRevisionRead(BaseModel):
    """A note's text before an edit."""

    body: str
    replaced_by: str
    replaced_at: datetime


class NoteRead(BaseModel):
    """A note; a deleted one keeps its place in the thread without its text."""

    id: str
    parent_id: str | None
    author_id: str
    body: str | None
    deleted: bool
    created_at: datetime
    updated_at: datetime
    history: list[NoteRevisionRead]

    @classmethod
    def of(cls, note: Note, history: list[NoteRevisionRead] | None = None) -> NoteRead:
        """Map a stored note."""
        deleted = note.deleted_at is not None
        return cls(
            id=note.id,
            parent_id=note.parent_id,
            author_id=note.author_id,
            body=None if deleted else note.body,
            deleted=deleted,
            created_at=note.created_at,
            updated_at=note.updated_at,
            history=[] if deleted else (history or []),
        )
