"""Conversion prompts raised by won deals."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from clientpulse.clients.api.base import ClientsApiController
from clientpulse.clients.api.schemas import ClientRead, PromptAccept, PromptDismiss, PromptRead
from clientpulse.clients.db.repositories import ConversionPromptRepository
from clientpulse.clients.domain import services
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.pagination import Page, clamp_limit, cursor_id, next_cursor_after
from clientpulse.shared.service import Caller, Db

PROMPT_STATES = ("pending", "accepted", "dismissed")


class ConversionPromptController(ClientsApiController):
    """``/api/v1/conversion-prompts``"""

    path = "/api/v1/conversion-prompts"
    tags = ["conversion prompts"]

    @get("/", summary="List conversion prompts", description="Pending ones by default.")
    async def list_prompts(
        self,
        identity: Caller,
        db: Db,
        state_filter: Annotated[
            str | None, QueryParameter(name="state", description="pending, accepted, dismissed or all")
        ] = "pending",
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[PromptRead]:
        require_clients_module(identity)
        if state_filter not in (*PROMPT_STATES, "all", None):
            raise Unprocessable(f"state must be one of {', '.join(PROMPT_STATES)} or all, got {state_filter!r}")
        size = clamp_limit(limit)
        async with db.transaction() as session:
            rows = await ConversionPromptRepository(session).list(
                state=None if state_filter == "all" else state_filter,
                after_id=cursor_id(cursor),
                limit=size + 1,
            )
        items = [PromptRead.of(prompt) for prompt in rows[:size]]
        next_cursor = next_cursor_after(rows, size)
        return Page[PromptRead](items=items, next_cursor=next_cursor)

    @post("/{prompt_id:str}/accept", summary="Accept a prompt: the company becomes an Active client")
    async def accept(
        self, identity: Caller, db: Db, prompt_id: FromPath[str], data: JSONBody[PromptAccept | None] = None
    ) -> ClientRead:
        require_clients_module(identity)
        body = data or PromptAccept()
        async with db.transaction() as session:
            client, company, _ = await services.accept_prompt(
                session, identity, prompt_id, dm_id=body.dm_id, squad_id=body.squad_id
            )
        return ClientRead.of(client, company)

    @post("/{prompt_id:str}/dismiss", summary="Dismiss a prompt")
    async def dismiss(
        self, identity: Caller, db: Db, prompt_id: FromPath[str], data: JSONBody[PromptDismiss | None] = None
    ) -> PromptRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            prompt = await services.dismiss_prompt(session, identity, prompt_id, (data or PromptDismiss()).note)
        return PromptRead.of(prompt)
