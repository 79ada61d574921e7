"""A client's goals."""

from __future__ import annotations

from decimal import Decimal

from litestar import Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.goals import GoalCreate, GoalRead, GoalUpdate
from clientpulse.clients.db.repositories.goals import GoalRepository
from clientpulse.clients.domain import goals
from clientpulse.clients.domain.clients import visible_client
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import NotFound
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


class GoalController(ClientsModuleController):
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
        request = PageRequest.of(cursor, limit)
        today = utcnow().date()
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            rows = await GoalRepository(session).list(client_id, after_id=request.after_id, limit=request.fetch_limit)
        return request.page(GoalRead, rows, lambda goal: GoalRead.of(goal, today=today))

    @post("/", summary="Set a goal", status_code=HTTP_201_CREATED)
    async def create_goal(
        self, identity: Caller, db: Db, client_id: FromPath[str], data: JSONBody[GoalCreate]
    ) -> Response[GoalRead]:
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            fields = goals.GoalInput(**(data.model_dump() | {"current": data.current or Decimal(0)}))
            goal = await goals.create_goal(session, identity, client, fields)
        return Response(
            GoalRead.of(goal, today=utcnow().date()),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/goals/{goal.id}"},
        )

    @get("/{goal_id:str}", summary="Read a goal")
    async def get_goal(self, identity: Caller, db: Db, client_id: FromPath[str], goal_id: FromPath[str]) -> GoalRead:
        async with db.reading() as session:
            await visible_client(session, identity, client_id)
            goal = await GoalRepository(session).get(client_id, goal_id)
        if goal is None:
            raise NotFound(f"goal {goal_id} was not found")
        return GoalRead.of(goal, today=utcnow().date())

    @patch("/{goal_id:str}", summary="Update or close a goal")
    async def update_goal(
        self, identity: Caller, db: Db, client_id: FromPath[str], goal_id: FromPath[str], data: JSONBody[GoalUpdate]
    ) -> GoalRead:
        changes = data.model_dump(exclude_unset=True)
        close = bool(changes.pop("closed", False))
        async with db.transaction() as session:
            client, _ = await visible_client(session, identity, client_id)
            goal = await goals.update_goal(session, identity, client, goal_id, changes, close)
        return GoalRead.of(goal, today=utcnow().date())
