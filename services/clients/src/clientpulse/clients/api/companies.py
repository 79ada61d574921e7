"""Companies and converting one into a client."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.schemas import ClientRead, CompanyCreate, CompanyRead, CompanyUpdate, ConvertRequest
from clientpulse.clients.db.repositories import ClientRepository, CompanyRepository
from clientpulse.clients.domain import services
from clientpulse.shared.access import require_clients_module
from clientpulse.shared.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.service import Caller, Db


class CompanyController(Controller):
    """``/api/v1/companies``"""

    path = "/api/v1/companies"
    tags = ["companies"]

    @get("/", summary="List companies", description="Companies in creation order, with an optional name search.")
    async def list_companies(
        self,
        identity: Caller,
        db: Db,
        search: Annotated[str | None, QueryParameter(max_length=200)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[CompanyRead]:
        require_clients_module(identity)
        size = clamp_limit(limit)
        position = decode_cursor(cursor)
        async with db.transaction() as session:
            rows = await CompanyRepository(session).list(
                search=search, after_id=position.get("id") if position else None, limit=size + 1
            )
            clients = ClientRepository(session)
            items = [CompanyRead.of(c, is_client=await clients.get(c.id) is not None) for c in rows[:size]]
        next_cursor = encode_cursor({"id": rows[size - 1].id}) if len(rows) > size else None
        return Page[CompanyRead](items=items, next_cursor=next_cursor)

    @post("/", summary="Create a company", status_code=HTTP_201_CREATED)
    async def create_company(self, identity: Caller, db: Db, data: JSONBody[CompanyCreate]) -> Response[CompanyRead]:
        require_clients_module(identity)
        async with db.transaction() as session:
            company = await services.create_company(
                session, services.CompanyInput(name=data.name, domain=data.domain, industry=data.industry)
            )
        return Response(
            CompanyRead.of(company, is_client=False),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/companies/{company.id}"},
        )

    @get("/{company_id:str}", summary="Read a company")
    async def get_company(self, identity: Caller, db: Db, company_id: FromPath[str]) -> CompanyRead:
        require_clients_module(identity)
        async with db.transaction() as session:
            company = await services.get_company(session, company_id)
            is_client = await ClientRepository(session).get(company_id) is not None
        return CompanyRead.of(company, is_client=is_client)

    @patch("/{company_id:str}", summary="Update a company")
    async def update_company(
        self, identity: Caller, db: Db, company_id: FromPath[str], data: JSONBody[CompanyUpdate]
    ) -> CompanyRead:
        require_clients_module(identity)
        changes = data.model_dump(exclude_unset=True)
        async with db.transaction() as session:
            company = await services.update_company(session, identity, company_id, changes)
            is_client = await ClientRepository(session).get(company_id) is not None
        return CompanyRead.of(company, is_client=is_client)

    @post(
        "/{company_id:str}/convert",
        summary="Convert a company into a client",
        description="Any company status; the client starts Prospect unless another status is given. "
        "Converting twice is a 409.",
        status_code=HTTP_201_CREATED,
    )
    async def convert(
        self, identity: Caller, db: Db, company_id: FromPath[str], data: JSONBody[ConvertRequest | None] = None
    ) -> Response[ClientRead]:
        require_clients_module(identity)
        request = data or ConvertRequest()
        async with db.transaction() as session:
            client, company = await services.convert_company(
                session, identity, company_id, status=request.status, dm_id=request.dm_id, squad_id=request.squad_id
            )
        return Response(
            ClientRead.of(client, company),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client.id}"},
        )
