"""Invoices and credit notes imported from a CSV or JSON file into the revenue ledger
(docs/domain-rules.md, "Tier scoring").

Every row is checked, turned into the ``InvoicePosted`` billing would have sent, and written with the
ledger's one rule (``ledger_row``), so an imported invoice is exactly what the consumer would have kept.
A row is *created* (new to the ledger), *unchanged* (the ledger already holds that invoice id with the
same values, or an earlier row of the file did) or *rejected* with its row number, field and what is
wrong; the ledger never changes a posted invoice, so a known id with other values is rejected too.
Accepted rows are written in batches of one multi-row statement each, in the caller's unit of work.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts.events import InvoicePosted
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.money import MoneyError, minor_unit_exponent
from clientpulse.tiering.db.repositories.ledger import LedgerRepository
from clientpulse.tiering.domain.ledger import ledger_row

MAX_IMPORT_ROWS = 20_000
BATCH_ROWS = 1000
IMPORT_COLUMNS = ("invoice_id", "client_id", "number", "issued_on", "amount", "amount_minor", "currency",
                  "is_credit_note")  # fmt: skip
# What is compared when an invoice id is already known: the ledger's facts, not when or how it came.
COMPARED = ("client_id", "number", "issued_on", "amount_minor", "currency", "is_credit_note")


class RowOutcome(enum.StrEnum):
    """What happened to one row."""

    CREATED = "created"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


class InvoiceRow(BaseModel):
    """One invoice or credit note as a file gives it: ``amount`` in major units (``1234.50``) or
    ``amount_minor`` in minor units (``123450``); a credit note is negative or flagged."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    invoice_id: str = Field(min_length=1, max_length=120)
    client_id: str = Field(min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=120)
    issued_on: date
    amount: Decimal | None = None
    amount_minor: int | None = None
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    is_credit_note: bool = False

    @model_validator(mode="after")
    def _one_amount(self) -> InvoiceRow:
        if (self.amount is None) == (self.amount_minor is None):
            raise ValueError("give exactly one of amount (major units) or amount_minor")
        return self

    def to_event(self) -> InvoicePosted:
        """The InvoicePosted billing would have sent for this row."""
        currency = self.currency.upper()
        minor = self.amount_minor if self.amount_minor is not None else _to_minor(self.amount, currency)
        return InvoicePosted(
            invoice_id=self.invoice_id,
            client_id=self.client_id,
            number=self.number,
            issued_on=self.issued_on,
            amount_minor=minor,
            currency=currency,
            is_credit_note=self.is_credit_note,
        )


class RowProblem(ValueError):
    """A row that cannot enter the ledger: which field, and what is wrong."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _to_minor(amount: Decimal | None, currency: str) -> int:
    try:
        exponent = minor_unit_exponent(currency)
    except MoneyError as exc:
        raise RowProblem("currency", str(exc)) from exc
    scaled = (amount or Decimal(0)).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise RowProblem("amount", f"{amount} has more than {exponent} decimals for {currency}")
    return int(scaled)


@dataclass(slots=True)
class RowResult:
    """The outcome of one row (rows count from 1, after a CSV header)."""

    row: int
    outcome: RowOutcome
    invoice_id: str | None = None
    client_id: str | None = None
    field: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class ImportReport:
    """Counts and the per-row outcomes."""

    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: RowOutcome) -> int:
        """How many rows ended with ``outcome``."""
        return sum(1 for row in self.rows if row.outcome is outcome)

    @property
    def clients(self) -> int:
        """Distinct clients of the rows the ledger took."""
        return len({r.client_id for r in self.rows if r.outcome is RowOutcome.CREATED})


def parse_invoice_file(body: bytes, media: str) -> list[dict[str, Any]]:
    """The raw rows of a CSV (header row first) or JSON (an array of objects) file of invoices."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the file is not UTF-8 text") from exc
    if "\x00" in text:
        raise Unprocessable("the file contains NUL characters; it is not a CSV or JSON text file")
    media = media.split(";", 1)[0].strip().lower()
    if media in ("text/csv", "application/csv", "csv"):
        rows = _csv_rows(text)
    elif media in ("application/json", "json"):
        rows = _json_rows(text)
    else:
        raise Unprocessable(f"send text/csv or application/json, not {media or 'no content type'}")
    if not rows:
        raise Unprocessable("the file has no rows")
    if len(rows) > MAX_IMPORT_ROWS:
        raise Unprocessable(f"at most {MAX_IMPORT_ROWS} rows per import, got {len(rows)}; split the file")
    return rows


def _csv_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    names = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("invoice_id", "client_id", "issued_on", "currency") if name not in names]
    if missing:
        raise Unprocessable(f"the CSV header lacks {', '.join(missing)} (columns: {', '.join(IMPORT_COLUMNS)})")
    unknown = [name for name in names if name not in IMPORT_COLUMNS]
    if unknown:
        raise Unprocessable(f"unknown CSV columns {', '.join(unknown)}; allowed: {', '.join(IMPORT_COLUMNS)}")
    rows: list[dict[str, Any]] = []
    for record in reader:
        if None in record:
            rows.append({"__error__": "the row has more fields than the header"})
            continue
        rows.append({key.strip(): value for key, value in record.items() if value not in ("", None)})
    return rows


def _json_rows(text: str) -> list[dict[str, Any]]:
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise Unprocessable(f"the JSON is not valid: {exc}") from exc
    if not isinstance(loaded, list):
        raise Unprocessable("the JSON must be an array of invoice objects")
    return [item if isinstance(item, dict) else {"__error__": "not a JSON object"} for item in loaded]


def check_row(raw: dict[str, Any]) -> InvoicePosted:
    """The InvoicePosted of a raw row, or ``RowProblem`` naming the first field at fault."""
    if "__error__" in raw:
        raise RowProblem("row", str(raw["__error__"]))
    try:
        return InvoiceRow.model_validate(raw).to_event()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "row"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RowProblem(name, message) from None


def differing_field(kept: dict[str, Any], offered: dict[str, Any]) -> str | None:
    """The first ledger fact on which two rows of one invoice id differ; None when they agree."""
    return next((name for name in COMPARED if kept[name] != offered[name]), None)


@dataclass(slots=True)
class _Accepted:
    """A row that passed its checks, waiting for its batch (and the rows repeating its invoice id)."""

    result: RowResult
    values: dict[str, Any]
    repeats: list[RowResult] = field(default_factory=list)


async def import_invoices(
    session: AsyncSession, raw_rows: list[dict[str, Any]], *, import_id: str, now: datetime
) -> ImportReport:
    """Check every row and write the new invoices to the ledger in batches; nothing here commits."""
    report = ImportReport()
    first: dict[str, _Accepted] = {}
    for number, raw in enumerate(raw_rows, start=1):
        result = RowResult(row=number, outcome=RowOutcome.CREATED)
        report.rows.append(result)
        try:
            invoice = check_row(raw)
        except RowProblem as problem:
            result.outcome, result.field, result.reason = RowOutcome.REJECTED, problem.field, problem.reason
            continue
        result.invoice_id, result.client_id = invoice.invoice_id, invoice.client_id
        values = ledger_row(invoice, event_id=import_id, recorded_at=now)
        earlier = first.get(invoice.invoice_id)
        if earlier is None:
            first[invoice.invoice_id] = _Accepted(result, values)
        else:
            _repeat(result, earlier, values)
    pending = list(first.values())
    ledger = LedgerRepository(session)
    for start in range(0, len(pending), BATCH_ROWS):
        await _write_batch(ledger, pending[start : start + BATCH_ROWS])
    for accepted in pending:
        for repeat in accepted.repeats:
            if accepted.result.outcome is RowOutcome.REJECTED and repeat.outcome is RowOutcome.UNCHANGED:
                repeat.outcome, repeat.field, repeat.reason = (
                    RowOutcome.REJECTED,
                    accepted.result.field,
                    (f"as row {accepted.result.row}: {accepted.result.reason}"),
                )
    return report


def _repeat(result: RowResult, earlier: _Accepted, values: dict[str, Any]) -> None:
    """A later row of the file with an invoice id seen before: unchanged when it says the same."""
    differs = differing_field(earlier.values, values)
    if differs is None:
        result.outcome, result.reason = RowOutcome.UNCHANGED, f"the same invoice as row {earlier.result.row}"
        earlier.repeats.append(result)
    else:
        result.outcome, result.field = RowOutcome.REJECTED, differs
        result.reason = (
            f"invoice {values['invoice_id']} is on row {earlier.result.row} with {differs} "
            f"{earlier.values[differs]!s}, here {values[differs]!s}"
        )


async def _write_batch(ledger: LedgerRepository, batch: list[_Accepted]) -> None:
    """Insert a batch in one statement; a known invoice id is unchanged when the ledger holds the same facts."""
    inserted = await ledger.add_many_if_new([accepted.values for accepted in batch])
    known_ids = [a.values["invoice_id"] for a in batch if a.values["invoice_id"] not in inserted]
    known = await ledger.facts_of(known_ids, COMPARED)
    for accepted in batch:
        invoice_id = accepted.values["invoice_id"]
        if invoice_id in inserted:
            continue
        kept_values = known[invoice_id]
        differs = differing_field(kept_values, accepted.values)
        result = accepted.result
        if differs is None:
            result.outcome, result.reason = RowOutcome.UNCHANGED, "already in the ledger"
        else:
            result.outcome, result.field = RowOutcome.REJECTED, differs
            result.reason = (
                f"invoice {invoice_id} is already in the ledger with {differs} {kept_values[differs]!s}, "
                f"not {accepted.values[differs]!s}; a posted invoice never changes (post a credit note instead)"
            )
