"""``clientpulse-tiering``: serve the tiering service, migrate its database, or ask for a recalculation."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from clientpulse.shared.contracts import new_event_id, wrap
from clientpulse.shared.contracts.events import RecalculationRequested
from clientpulse.shared.db import Database, utcnow
from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.servicecli import Command, request_work, service_cli
from clientpulse.tiering.app import MIGRATIONS
from clientpulse.tiering.domain.invoice_import import ImportReport, RowOutcome, import_invoices, parse_invoice_file
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


async def import_invoice_file(database_url: str, rows: list[dict[str, object]], import_id: str) -> ImportReport:
    """Import parsed rows into the ledger in one unit of work (what ``POST /tiering/invoices/import`` does)."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return await import_invoices(session, rows, import_id=import_id, now=utcnow())
    finally:
        await database.dispose()


def _import_invoices(args: argparse.Namespace) -> int:
    path = Path(args.file)
    media = args.format or path.suffix.lstrip(".").lower()
    try:
        rows = parse_invoice_file(path.read_bytes(), media)
    except OSError as exc:
        print(f"error: {path} could not be read ({exc})", file=sys.stderr)
        return 2
    except Unprocessable as exc:
        print(f"error: {path}: {exc.detail}; name the format with --format csv|json", file=sys.stderr)
        return 2
    settings = TieringSettings()
    print(f"importing {len(rows):,} invoice row(s) from {path} into the tiering ledger ...", file=sys.stderr)
    try:
        report = asyncio.run(import_invoice_file(settings.resolved_database_url(), rows, new_event_id()))
    except OSError as exc:
        print(
            f"the tiering database could not be reached ({exc}); start it or set CLIENTPULSE_TIERING_DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    for row in report.rows:
        if row.outcome is RowOutcome.REJECTED:
            print(f"row {row.row}: rejected: {row.field}: {row.reason}", file=sys.stderr)
    print(
        f"import-invoices: {report.count(RowOutcome.CREATED)} created, {report.count(RowOutcome.UNCHANGED)} unchanged, "
        f"{report.count(RowOutcome.REJECTED)} rejected ({report.clients} client(s) with new invoices)",
        file=sys.stderr,
    )
    return 1 if report.count(RowOutcome.REJECTED) else 0


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
    importer = commands.add_parser(
        "import-invoices", help="import invoices and credit notes from a CSV or JSON file into the revenue ledger"
    )
    importer.add_argument("file", help="a .csv (header row first) or .json (array of objects) file")
    importer.add_argument("--format", choices=["csv", "json"], default=None, help="default: from the file's suffix")
    return {"recalculate": _recalculate, "import-invoices": _import_invoices}


main = service_cli(
    service="tiering",
    app_factory="clientpulse.tiering.app:create_app",
    settings=TieringSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
