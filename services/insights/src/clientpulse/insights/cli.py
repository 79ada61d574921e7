"""``clientpulse-insights``: serve the insights service, migrate its database, or ask for a weekly analysis."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from clientpulse.insights.app import MIGRATIONS
from clientpulse.insights.domain.older_analyses import import_text_analyses
from clientpulse.insights.domain.weekly import weekly_request_event_id
from clientpulse.insights.domain.weeks import resolve_week
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import WeeklyAnalysisRequested
from clientpulse.shared.db import utcnow
from clientpulse.shared.servicecli import Command, request_work, service_cli


def _analyze_week(args: argparse.Namespace) -> int:
    try:
        week = resolve_week(args.week, utcnow())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = InsightsSettings()
    envelope = wrap(
        WeeklyAnalysisRequested(week=str(week), requested_by=args.requested_by),
        source="insights",
        event_id=weekly_request_event_id(week),
    )
    return request_work(
        settings,
        envelope,
        asking=f"the insights service to analyse {week} ({week.start} to {week.end}) for every Active client "
        "with results",
        key=str(week),
        requested="the service analyses each client and announces each analysis (AnalysisGenerated; "
        f"GET /api/v1/clients/{{client_id}}/insights/analysis?week={week})",
    )


def _import_analyses(args: argparse.Namespace) -> int:
    settings = InsightsSettings()
    print(f"importing text analyses from {args.file} (one JSON object a line: client_id, week, text)", flush=True)
    try:
        counts = asyncio.run(import_text_analyses(settings.resolved_database_url(), Path(args.file)))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {counts.imported}, already there {counts.skipped}, rejected {counts.rejected}")
    for line in counts.problems[:20]:
        print(f"  {line}", file=sys.stderr)
    return 1 if counts.rejected else 0


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    analyze = commands.add_parser(
        "analyze-week", help="publish WeeklyAnalysisRequested for an ISO week (what the weekly CronJob runs)"
    )
    analyze.add_argument(
        "--week",
        default=None,
        help="ISO week such as 2026-W48 (default: the last complete week in UTC); the week before it is read too, "
        "for trends",
    )
    analyze.add_argument("--requested-by", default="cronjob", help="who asks (kept with the request)")
    importing = commands.add_parser(
        "import-analyses", help="import older analyses kept as free text (served as format: text)"
    )
    importing.add_argument("file", help='a JSON Lines file: {"client_id", "week" (e.g. 2025-W10), "text"} a line')
    return {"analyze-week": _analyze_week, "import-analyses": _import_analyses}


main = service_cli(
    service="insights",
    app_factory="clientpulse.insights.app:create_app",
    settings=InsightsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
