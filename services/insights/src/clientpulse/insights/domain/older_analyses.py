"""Older analyses: an analysis kept as free text (imported, or stored in an earlier format) is served as text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clientpulse.insights.db.repositories.analyses import AnalysisRepository
from clientpulse.insights.domain.weeks import IsoWeek
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import Database, utcnow

_TEXT_KEYS = ("text", "summary", "executive_summary", "analysis", "body")


def analysis_text(body: dict[str, Any] | None) -> str:
    """The readable text of a body this version cannot read as a structured analysis: its first text field, or
    the whole body as JSON."""
    if not body:
        return ""
    for key in _TEXT_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=2)


@dataclass
class ImportCounts:
    """What an import did."""

    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


class TextAnalysisLine(BaseModel):
    """One older analysis to import."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(min_length=1, max_length=64)
    week: str
    text: str = Field(min_length=1, max_length=100_000)
    generated_by: str = Field(default="import", max_length=120)


async def import_text_analyses(database_url: str, path: Path) -> ImportCounts:
    """Store each line as a ``text`` analysis of its client's week (a week with an analysis is left alone)."""
    counts = ImportCounts()
    raw_lines = path.read_text(encoding="utf-8").splitlines()  # noqa: ASYNC240 - a one-off operator command
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            analyses = AnalysisRepository(session)
            for number, raw in enumerate(raw_lines, start=1):
                if not raw.strip():
                    continue
                try:
                    line = TextAnalysisLine.model_validate_json(raw)
                    week = str(IsoWeek.parse(line.week))
                except ValueError as exc:
                    counts.rejected += 1
                    counts.problems.append(f"line {number}: {str(exc)[:200]}")
                    continue
                values: dict[str, Any] = {
                    "id": new_event_id(),
                    "client_id": line.client_id,
                    "week": week,
                    "health_score": None,
                    "status": None,
                    "body": {},
                    "generated_by": line.generated_by,
                    "created_at": utcnow(),
                    "format": "text",
                    "text": line.text,
                }
                if await analyses.add_once(values):
                    counts.imported += 1
                else:
                    counts.skipped += 1
    finally:
        await database.dispose()
    return counts
