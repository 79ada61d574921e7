"""``clientpulse-tiering``: serve the tiering service, migrate its database, or ask for a recalculation."""

from __future__ import annotations

import argparse
import sys

from clientpulse.shared.contracts import wrap
from clientpulse.shared.contracts.events import RecalculationRequested
from clientpulse.shared.db import utcnow
from clientpulse.shared.servicecli import Command, request_work, service_cli
from clientpulse.tiering.app import MIGRATIONS
from clientpulse.tiering.domain.recalculation import recalculation_event_id, resolve_period
from clientpulse.tiering.settings import TieringSettings


def _recalculate(args: argparse.Namespace) -> int:
    try:
        period = resolve_period(args.period, utcnow())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = TieringSettings()
    envelope = wrap(
        RecalculationRequested(period=period, requested_by=args.requested_by),
        source="tiering",
        event_id=recalculation_event_id(period),
    )
    return request_work(
        settings,
        envelope,
        asking=f"the tiering service to recalculate every Active client's tier for {period}",
        key=period,
        requested="the service records the run and its counts (GET /tiering/recalculations)",
    )


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    recalculate = commands.add_parser(
        "recalculate", help="publish RecalculationRequested for a period (what the monthly CronJob runs)"
    )
    recalculate.add_argument(
        "--period",
        default="previous",
        help="YYYY-MM, or 'previous' (default: the month that just ended) or 'current'; revenue is the 12 months "
        "ending with it",
    )
    recalculate.add_argument("--requested-by", default="cronjob", help="who asks (kept with the run)")
    return {"recalculate": _recalculate}


main = service_cli(
    service="tiering",
    app_factory="clientpulse.tiering.app:create_app",
    settings=TieringSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
