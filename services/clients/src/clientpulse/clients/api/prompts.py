"""Conversion prompts raised by won deals."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.clients import ClientRead
from clientpulse.clients.api.schemas.prompts import PromptAccept, PromptDismiss, PromptRead
from clientpulse.clients.db.repositories.prompts import ConversionPromptRepository
from clientpulse.clients.domain import prompts
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db

PROMPT_STATES = (prompts.PromptState.PENDING, prompts.PromptState.ACCEPTED, prompts.PromptState.DISMISSED)


class ConversionPromptController(ClientsModuleController):
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
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[PromptRead]:
        if state_filter not in (*PROMPT_STATES, "all", None):
            raise Unprocessable(f"state must be one of {', '.join(PROMPT_STATES)} or all, got {state_filter!r}")
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            rows = await ConversionPromptRepository(session).list(
                identity,
                state=None if state_filter == "all" else state_filter,
                after_id=request.after_id,
                limit=request.fetch_limit,
            )
        return request.page(PromptRead, rows, PromptRead.of)

    @post("/{prompt_id:str}/accept", summary="Accept a prompt: the company becomes an Active client")
    async def accept(
        self, identity: Caller, db: Db, prompt_id: FromPath[str], data: JSONBody[PromptAccept | None] = None
    ) -> ClientRead:
        body = data or PromptAccept()
        async with db.transaction() as session:
            client, company, _ = await prompts.accept_prompt(
                session, identity, prompt_id, dm_id=body.dm_id, squad_id=body.squad_id
            )
        return ClientRead.of(client, company)

    @post("/{prompt_id:str}/dismiss", summary="Dismiss a prompt")
    async def dismiss(
        self, identity: Caller, db: Db, prompt_id: FromPath[str], data: JSONBody[PromptDismiss | None] = None
    ) -> PromptRead:
        async with db.transaction() as session:
            prompt = await prompts.dismiss_prompt(session, identity, prompt_id, (data or PromptDismiss()).note)
        return PromptRead.of(prompt)
