"""``/api/v1/tiering/invoices/import``: invoices and credit notes into the revenue ledger from a file
(Executives only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Reference, RequestBody, Schema

from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import ExecutiveController
from clientpulse.shared.service import Db
from clientpulse.tiering.api.schemas.invoices import InvoiceImportRead, InvoiceRowRead
from clientpulse.tiering.domain import invoice_import
from clientpulse.tiering.domain.invoice_import import ImportReport, RowOutcome


@dataclass
class _ImportOperation(Operation):
    """The import reads its body itself (CSV or JSON), so the document is told here what it takes."""

    def __post_init__(self) -> None:
        columns: dict[str, Schema | Reference] = {
            name: Schema(type=OpenAPIType.STRING) for name in invoice_import.IMPORT_COLUMNS
        }
        self.request_body = RequestBody(
            required=True,
            content={
                "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.ARRAY,
                        max_items=invoice_import.MAX_IMPORT_ROWS,
                        items=Schema(type=OpenAPIType.OBJECT, properties=columns),
                    )
                ),
            },
        )


def import_read(import_id: str, report: ImportReport) -> InvoiceImportRead:
    """The API view of an import's report."""
    return InvoiceImportRead(
        import_id=import_id,
        created=report.count(RowOutcome.CREATED),
        unchanged=report.count(RowOutcome.UNCHANGED),
        rejected=report.count(RowOutcome.REJECTED),
        clients=report.clients,
        rows=[
            InvoiceRowRead(
                row=r.row,
                outcome=r.outcome.value,
                invoice_id=r.invoice_id,
                client_id=r.client_id,
                field=r.field,
                reason=r.reason,
            )
            for r in report.rows
        ],
    )


class InvoiceImportController(ExecutiveController):
    """``/api/v1/tiering/invoices`` (Executive only)"""

    path = "/api/v1/tiering/invoices"
    tags = ["tiering"]

    @post(
        "/import",
        summary="Import invoices and credit notes from CSV or JSON into the revenue ledger",
        description="Send `text/csv` (a header row: invoice_id, client_id, issued_on, currency, and amount in major "
        "units or amount_minor; optionally number and is_credit_note) or `application/json` (an array of objects "
        "with those fields). Each row is created, unchanged (that invoice id is already in the ledger with the same "
        "values) or rejected with its row number, field and reason; a credit note is a negative amount or "
        "is_credit_note=true. The same ledger rules as InvoicePosted; importing a file again changes nothing. "
        f"At most {invoice_import.MAX_IMPORT_ROWS} rows.",
        status_code=200,
        operation_class=_ImportOperation,
    )
    async def import_invoices(self, db: Db, request: Request[Any, Any, Any]) -> InvoiceImportRead:
        raw_rows = invoice_import.parse_invoice_file(await request.body(), request.headers.get("content-type", ""))
        import_id = new_event_id()
        async with db.transaction() as session:
            report = await invoice_import.import_invoices(session, raw_rows, import_id=import_id, now=utcnow())
        return import_read(import_id, report)
