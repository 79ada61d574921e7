"""``clientpulse-insights``: serve the insights service, migrate its database, or ask for a weekly analysis."""

from __future__ import annotations

import argparse
import sys

from clientpulse.insights.app import MIGRATIONS
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
    return {"analyze-week": _analyze_week}


main = service_cli(
    service="insights",
    app_factory="clientpulse.insights.app:create_app",
    settings=InsightsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
