"""Older analyses: imported free text, and a body of an earlier format, are served as ``format: text``."""

from __future__ import annotations

import json
from pathlib import Path

from insights_testkit import MANAGER_S1, running_insights

from clientpulse.insights.db.models import Analysis
from clientpulse.insights.domain.older_analyses import import_text_analyses
from clientpulse.shared.db import utcnow


async def test_text_analyses_are_served_beside_structured_ones(
    postgres_url: str, clean_nats: str, tmp_path: Path
) -> None:
    lines = tmp_path / "older.jsonl"
    lines.write_text(
        json.dumps({"client_id": "c-1", "week": "2025-W10", "text": "Spend held; ROAS improved on search."}) + "\n"
        + json.dumps({"client_id": "c-1", "week": "2025-W99", "text": "A week that does not exist."}) + "\n"
    )  # fmt: skip
    async with running_insights(postgres_url, clean_nats) as insights:
        await insights.add_client("c-1", squad_id="s-1")
        await insights.wait_for_replicas(clients=1, sources=0)
        counts = await import_text_analyses(postgres_url, lines)
        assert (counts.imported, counts.rejected) == (1, 1)
        assert (await import_text_analyses(postgres_url, lines)).skipped == 1
        async with insights.database.transaction() as session:
            session.add(Analysis(id="a-old", client_id="c-1", week="2025-W11", health_score=61, status="warning",
                                 body={"summary": "Old format: a summary only."}, generated_by="v0",
                                 created_at=utcnow()))  # fmt: skip
        async with insights.http(MANAGER_S1) as http:
            imported = (await http.get("/api/v1/clients/c-1/insights/analysis", params={"week": "2025-W10"})).json()
            earlier = (await http.get("/api/v1/clients/c-1/insights/analysis", params={"week": "2025-W11"})).json()
    assert (imported["format"], imported["text"], imported["body"]) == (
        "text",
        "Spend held; ROAS improved on search.",
        None,
    )
    assert (earlier["format"], earlier["text"], earlier["health_score"]) == ("text", "Old format: a summary only.", 61)
