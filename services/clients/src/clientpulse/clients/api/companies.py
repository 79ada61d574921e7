"""Companies and converting one into a client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Reference, RequestBody, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from clientpulse.clients.api.pagination import Cursor, PageRequest
from clientpulse.clients.api.schemas.clients import ClientRead
from clientpulse.clients.api.schemas.companies import CompanyCreate, CompanyRead, CompanyUpdate, ConvertRequest
from clientpulse.clients.api.schemas.importing import ImportRead, ImportRowRead
from clientpulse.clients.db.repositories.clients import ClientRepository
from clientpulse.clients.db.repositories.companies import CompanyRepository
from clientpulse.clients.domain import companies, importing
from clientpulse.clients.domain.conversion import convert_company
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.guards import ClientsModuleController
from clientpulse.shared.pagination import Page
from clientpulse.shared.service import Caller, Db


@dataclass
class _ImportOperation(Operation):
    """The import reads its body itself (CSV or JSON), so the document is told here what it takes."""

    def __post_init__(self) -> None:
        columns: dict[str, Schema | Reference] = {
            name: Schema(type=OpenAPIType.STRING) for name in importing.IMPORT_COLUMNS
        }
        self.request_body = RequestBody(
            required=True,
            content={
                "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.ARRAY,
                        max_items=importing.MAX_IMPORT_ROWS,
                        items=Schema(type=OpenAPIType.OBJECT, properties=columns),
                    )
                ),
            },
        )


class CompanyController(ClientsModuleController):
    """``/api/v1/companies``"""

    path = "/api/v1/companies"
    tags = ["companies"]

    @get("/", summary="List companies", description="Companies in creation order, with an optional name search.")
    async def list_companies(
        self,
        identity: Caller,
        db: Db,
        search: Annotated[str | None, QueryParameter(max_length=200)] = None,
        cursor: Cursor = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[CompanyRead]:
        request = PageRequest.of(cursor, limit)
        async with db.reading() as session:
            repository = CompanyRepository(session)
            rows = await repository.list(identity, search=search, after_id=request.after_id, limit=request.fetch_limit)
            clients = await repository.client_ids([company.id for company in request.shown(rows)])
        return request.page(CompanyRead, rows, lambda company: CompanyRead.of(company, is_client=company.id in clients))

    @post("/", summary="Create a company", status_code=HTTP_201_CREATED)
    async def create_company(self, db: Db, data: JSONBody[CompanyCreate]) -> Response[CompanyRead]:
        async with db.transaction() as session:
            company = await companies.create_company(
                session, companies.CompanyInput(name=data.name, domain=data.domain, industry=data.industry)
            )
        return Response(
            CompanyRead.of(company, is_client=False),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/companies/{company.id}"},
        )

    @post(
        "/import",
        summary="Import companies from CSV or JSON",
        description="Send `text/csv` (a header row with name and optionally id, domain, industry) or "
        "`application/json` (an array of objects with those fields). A row names an existing company by id, "
        "else by domain, else by exact name; it is created, updated, unchanged or rejected with the reason. "
        "Accepted rows are written in one transaction. With `all_or_nothing=true` a single rejected row "
        f"writes nothing and answers 422 with the report. At most {importing.MAX_IMPORT_ROWS} rows.",
        status_code=200,
        operation_class=_ImportOperation,
    )
    async def import_companies(
        self, identity: Caller, db: Db, request: Request[Any, Any, Any], all_or_nothing: FromQuery[bool] = False
    ) -> ImportRead:
        raw_rows = importing.parse_rows(await request.body(), request.headers.get("content-type", ""))
        async with db.transaction() as session:
            result = _import_read(await importing.import_companies(session, identity, raw_rows))
            if all_or_nothing and result.rejected:
                raise Unprocessable(
                    f"{result.rejected} row(s) were rejected, so nothing was imported",
                    extra={"report": result.model_dump(mode="json")},
                )
        return result

    @get("/{company_id:str}", summary="Read a company")
    async def get_company(self, identity: Caller, db: Db, company_id: FromPath[str]) -> CompanyRead:
        async with db.reading() as session:
            company = await companies.get_company(session, identity, company_id)
            is_client = await ClientRepository(session).get(company_id) is not None
        return CompanyRead.of(company, is_client=is_client)

    @patch("/{company_id:str}", summary="Update a company")
    async def update_company(
        self, identity: Caller, db: Db, company_id: FromPath[str], data: JSONBody[CompanyUpdate]
    ) -> CompanyRead:
        changes = data.model_dump(exclude_unset=True)
        async with db.transaction() as session:
            company = await companies.update_company(session, identity, company_id, changes)
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
        request = data or ConvertRequest()
        async with db.transaction() as session:
            client, company = await convert_company(
                session, identity, company_id, status=request.status, dm_id=request.dm_id, squad_id=request.squad_id
            )
        return Response(
            ClientRead.of(client, company),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client.id}"},
        )


def _import_read(report: importing.ImportReport) -> ImportRead:
    outcome = importing.ImportOutcome
    return ImportRead(
        created=report.count(outcome.CREATED),
        updated=report.count(outcome.UPDATED),
        unchanged=report.count(outcome.UNCHANGED),
        rejected=report.count(outcome.REJECTED),
        rows=[
            ImportRowRead(row=r.row, outcome=r.outcome.value, company_id=r.company_id, reason=r.reason)
            for r in report.rows
        ],
    )
