"""Questions asked about a client's results, and their answers (the ``questions`` table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.insights.db.models import Question


class QuestionRepository:
    """Questions per client, newest first."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, values: dict[str, Any]) -> Question:
        """Stage a question with what came of it."""
        question = Question(**values)
        self.session.add(question)
        return question

    async def of_client(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[Question]:
        """A client's questions, newest first, after a keyset position."""
        query = select(Question).where(Question.client_id == client_id)
        if before is not None:
            at, question_id = before
            query = query.where(or_(Question.asked_at < at, and_(Question.asked_at == at, Question.id < question_id)))
        query = query.order_by(Question.asked_at.desc(), Question.id.desc()).limit(limit)
        return list(await self.session.scalars(query))
