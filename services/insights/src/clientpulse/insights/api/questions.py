"""Questions about a client's results: ask one (the model answers through the service's tools), list earlier ones."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel, Field

from clientpulse.insights import metrics
from clientpulse.insights.api.deps import Wiring
from clientpulse.insights.asking import ClientTools, Outcome, answer_question
from clientpulse.insights.db.models import Question
from clientpulse.insights.db.repositories.questions import QuestionRepository
from clientpulse.insights.domain.questions import QUESTION_MAX
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow, when_unit_ends
from clientpulse.shared.errors import ProblemError, Unprocessable
from clientpulse.shared.guards import ClientsModuleController, InputModel
from clientpulse.shared.pagination import clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Caller, Db

NO_MODEL = (
    "no model is configured to answer questions: set CLIENTPULSE_INSIGHTS_LLM_BASE_URL (any OpenAI-compatible "
    "endpoint, e.g. Cloudflare Workers AI, Ollama or vLLM), CLIENTPULSE_INSIGHTS_LLM_MODEL and, if the endpoint "
    "needs one, CLIENTPULSE_INSIGHTS_LLM_API_KEY (services/insights/README.md)"
)


class ModelNotAnswering(ProblemError):
    """No model is configured, or it gave no reply (timeout, 429, 5xx, the daily spending cap)."""

    status = 503
    slug = "model-unavailable"
    title = "No model to answer"


class QuestionCreate(InputModel):
    """A question about the client's results."""

    question: str = Field(min_length=3, max_length=QUESTION_MAX, pattern=r"\S")


class CitationRead(BaseModel):
    """A tool call the answer rests on: the tool and what it was asked."""

    tool_call_id: str
    tool: str
    arguments: dict[str, Any]


class QuestionRead(BaseModel):
    """A question and what came of it: ``answered`` (with citations), ``refused`` (the model's answer broke a
    rule; ``detail`` says which) or ``unavailable`` (the model gave no reply)."""

    id: str
    client_id: str
    question: str
    asked_by: str
    asked_at: datetime
    outcome: str
    answer: str | None
    citations: list[CitationRead]
    tool_calls: list[CitationRead]
    generated_by: str | None
    detail: str | None

    @classmethod
    def of(cls, row: Question) -> QuestionRead:
        """The API view of a stored question."""
        return cls(
            id=row.id,
            client_id=row.client_id,
            question=row.question,
            asked_by=row.asked_by,
            asked_at=row.asked_at,
            outcome=row.outcome,
            answer=row.answer,
            citations=[CitationRead.model_validate(c) for c in row.citations],
            tool_calls=[CitationRead.model_validate(c) for c in row.tool_calls],
            generated_by=row.generated_by,
            detail=row.detail,
        )


class QuestionPage(BaseModel):
    """Questions, newest first."""

    items: list[QuestionRead]
    next_cursor: str | None = None


def _row(client_id: str, asked_by: str, question: str, outcome: Outcome, model: str) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "client_id": client_id,
        "asked_by": asked_by,
        "asked_at": utcnow(),
        "question": question,
        "outcome": outcome.outcome,
        "answer": outcome.answer,
        "citations": [c.cited() for c in outcome.cited],
        "tool_calls": [c.cited() for c in outcome.calls],
        "detail": f"{outcome.reason}: {outcome.detail}" if outcome.reason else None,
        "generated_by": model,
    }


class QuestionController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/insights/ask``"""

    path = "/api/v1/clients/{client_id:str}/insights"
    tags = ["insights"]

    @post(
        "/ask",
        summary="Ask a question about the client's results",
        description="The model answers through tools (metrics of a period, the campaign table, goals) read with the "
        "caller's access; every number in the answer comes from a tool result, and the answer cites the calls. "
        "503 when no model is configured or it gives no reply.",
        status_code=HTTP_201_CREATED,
    )
    async def ask(
        self, identity: Caller, db: Db, wiring: Wiring, client_id: FromPath[str], data: JSONBody[QuestionCreate]
    ) -> QuestionRead:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
        if wiring.chat is None:
            raise ModelNotAnswering(NO_MODEL)
        tools = ClientTools(client_id, identity, wiring.results, wiring.relationship)
        outcome = await answer_question(wiring.chat, tools, data.question, max_rounds=wiring.ask_max_tool_rounds)
        async with db.transaction() as session:
            row = QuestionRepository(session).add(
                _row(client_id, identity.sub, data.question, outcome, wiring.chat.model)
            )
            when_unit_ends(session, committed=lambda: metrics.QUESTIONS.labels(outcome.outcome).inc())
        if outcome.outcome == "unavailable":
            raise ModelNotAnswering(
                f"the model gave no reply ({outcome.reason}: {outcome.detail}); the question is kept as {row.id}",
                extra={"question_id": row.id, "reason": outcome.reason},
            )
        return QuestionRead.of(row)

    @get("/ask", summary="Earlier questions about the client, newest first")
    async def questions(
        self,
        identity: Caller,
        db: Db,
        client_id: FromPath[str],
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> QuestionPage:
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        before = None
        if position is not None:
            try:
                before = (datetime.fromisoformat(str(position["at"])), str(position["id"]))
            except (KeyError, ValueError):
                raise Unprocessable("cursor is not valid: pass back the next_cursor of a previous page") from None
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            rows = await QuestionRepository(session).of_client(client_id, limit=size + 1, before=before)
        page, more = rows[:size], len(rows) > size
        next_cursor = encode_cursor({"at": page[-1].asked_at.isoformat(), "id": page[-1].id}) if more else None
        return QuestionPage(items=[QuestionRead.of(r) for r in page], next_cursor=next_cursor)
