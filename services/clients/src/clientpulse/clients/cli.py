"""``clientpulse-clients``: serve the clients service, migrate its database, or run the daily QBR check."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from clientpulse.clients.app import MIGRATIONS
from clientpulse.clients.domain.qbrs import report_overdue_qbrs
from clientpulse.clients.settings import ClientsSettings
from clientpulse.shared.db import Database, utcnow
from clientpulse.shared.servicecli import Command, service_cli


async def check_qbrs(database_url: str, today: date) -> int:
    """Record QbrOverdue for every newly overdue Active client; the running service's relay publishes them."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return await report_overdue_qbrs(session, today=today)
    finally:
        await database.dispose()


def _check_qbrs_command(args: argparse.Namespace) -> int:
    today = date.fromisoformat(args.today) if args.today else utcnow().date()
    settings = ClientsSettings()
    print(f"checking Active clients for QBRs overdue on {today.isoformat()} ...", file=sys.stderr)
    try:
        reported = asyncio.run(check_qbrs(settings.resolved_database_url(), today))
    except OSError as exc:
        print(
            f"the clients database could not be reached ({exc}); start it or set CLIENTPULSE_CLIENTS_DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    print(f"check-qbrs: {reported} newly overdue QBR(s) announced", file=sys.stderr)
    return 0


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "check-qbrs", help="announce QbrOverdue once per overdue episode (the daily CronJob; safe to re-run)"
    )
    parser.add_argument("--today", default=None, help="the day to judge overdue by, YYYY-MM-DD (default: today, UTC)")
    return {"check-qbrs": _check_qbrs_command}


main = service_cli(
    service="clients",
    app_factory="clientpulse.clients.app:create_app",
    settings=ClientsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
