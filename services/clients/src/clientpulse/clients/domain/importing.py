"""Bulk import of company records from CSV or JSON: every row is created, updated or rejected with its
reason, and the accepted rows are written in one transaction, so nothing is ever half-imported.

Rows are matched to existing companies by ``id`` when given (CRM ids are company ids), else by
``domain`` (case-insensitive), else by exact name (case-insensitive).
"""

from __future__ import annotations

import csv
import enum
import io
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.clients.db.models import Company
from clientpulse.clients.db.repositories.companies import CompanyRepository
from clientpulse.clients.domain.companies import CompanyInput, create_company, update_company
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.identity import Identity

MAX_IMPORT_ROWS = 5000
IMPORT_COLUMNS = ("id", "name", "domain", "industry")


class ImportOutcome(enum.StrEnum):
    """What happened to one row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


class ImportRow(BaseModel):
    """One company row as the file gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    name: str = Field(min_length=1, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=120)

    @field_validator("id", "name", "domain", "industry")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("may not contain NUL characters")
        return value


@dataclass(slots=True)
class RowResult:
    """The outcome of one row (rows count from 1, after a CSV header)."""

    row: int
    outcome: ImportOutcome
    company_id: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class ImportReport:
    """Counts and the per-row outcomes."""

    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: ImportOutcome) -> int:
        """How many rows ended with ``outcome``."""
        return sum(1 for row in self.rows if row.outcome is outcome)


def parse_rows(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The raw rows of a CSV (header row first) or JSON (an array of objects) upload."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the file is not UTF-8 text") from exc
    if "\x00" in text:
        raise Unprocessable("the file contains NUL characters; it is not a CSV or JSON text file")
    if media in ("text/csv", "application/csv"):
        reader = csv.DictReader(io.StringIO(text))
        unknown = [name for name in reader.fieldnames or [] if name and name.strip() not in IMPORT_COLUMNS]
        if not reader.fieldnames or "name" not in [n.strip() for n in reader.fieldnames]:
            raise Unprocessable(f"the CSV needs a header row with a name column (columns: {', '.join(IMPORT_COLUMNS)})")
        if unknown:
            raise Unprocessable(f"unknown CSV columns {', '.join(unknown)}; allowed: {', '.join(IMPORT_COLUMNS)}")
        rows: list[dict[str, Any]] = []
        for record in reader:
            if None in record:
                rows.append({"__error__": "the row has more fields than the header"})
                continue
            rows.append({key.strip(): (value if value != "" else None) for key, value in record.items()})
    elif media == "application/json":
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise Unprocessable(f"the JSON is not valid: {exc}") from exc
        if not isinstance(loaded, list):
            raise Unprocessable("the JSON must be an array of company objects")
        rows = [item if isinstance(item, dict) else {"__error__": "not a JSON object"} for item in loaded]
    else:
        raise Unprocessable(f"send text/csv or application/json, not {media or 'no content type'}")
    if not rows:
        raise Unprocessable("the file has no rows")
    if len(rows) > MAX_IMPORT_ROWS:
        raise Unprocessable(f"at most {MAX_IMPORT_ROWS} rows per import, got {len(rows)}")
    return rows


def _reason(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in error.errors())


async def import_companies(session: AsyncSession, identity: Identity, raw_rows: list[dict[str, Any]]) -> ImportReport:
    """Create or update a company per valid row; reject the others with their reason."""
    companies = CompanyRepository(session)
    report = ImportReport()
    claimed: dict[str, int] = {}
    for number, raw in enumerate(raw_rows, start=1):
        if "__error__" in raw:
            report.rows.append(RowResult(number, ImportOutcome.REJECTED, reason=raw["__error__"]))
            continue
        try:
            row = ImportRow.model_validate(raw)
        except ValidationError as exc:
            report.rows.append(RowResult(number, ImportOutcome.REJECTED, reason=_reason(exc)))
            continue
        existing: Company | None
        # Another squad's client is, to a Manager, no company at all: never matched, updated or reported.
        if row.id:
            existing = await companies.get_visible(identity, row.id)
            if existing is None and await companies.get(row.id) is not None:
                report.rows.append(RowResult(number, ImportOutcome.REJECTED, reason=f"the id {row.id} cannot be used"))
                continue
        elif row.domain:
            existing = await companies.find_by_domain(row.domain, identity)
        else:
            existing = await companies.find_by_name(row.name, identity)
        key = existing.id if existing else (row.id or f"domain:{(row.domain or '').lower()}|name:{row.name.lower()}")
        if key in claimed:
            reason = f"the same company as row {claimed[key]}"
            report.rows.append(RowResult(number, ImportOutcome.REJECTED, company_id=existing.id if existing else None,
                                         reason=reason))  # fmt: skip
            continue
        claimed[key] = number
        if existing is None:
            company = await create_company(
                session,
                CompanyInput(name=row.name, domain=row.domain, industry=row.industry),
                company_id=row.id,
            )
            claimed[company.id] = number  # a later row finding it by domain or name is the same company
            report.rows.append(RowResult(number, ImportOutcome.CREATED, company_id=company.id))
            continue
        changes = {"name": row.name, "domain": row.domain, "industry": row.industry}
        changes = {k: v for k, v in changes.items() if v is not None and getattr(existing, k) != v}
        if not changes:
            report.rows.append(RowResult(number, ImportOutcome.UNCHANGED, company_id=existing.id))
            continue
        await update_company(session, identity, existing.id, changes)
        report.rows.append(RowResult(number, ImportOutcome.UPDATED, company_id=existing.id))
    await session.flush()
    return report
