"""``clientpulse-clients``: serve the clients service, migrate its database, or run the daily check of QBRs and
Platinum check-ins."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from clientpulse.clients.app import MIGRATIONS
from clientpulse.clients.domain.check_ins import CheckInReport, report_check_ins
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


async def check_check_ins(database_url: str, today: date, reminder_days: int) -> CheckInReport:
    """Record CheckInDue and CheckInOverdue for Active Platinum clients; the running service's relay publishes them."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return await report_check_ins(session, today=today, reminder_days=reminder_days)
    finally:
        await database.dispose()


async def _daily_check(settings: ClientsSettings, today: date) -> tuple[int, CheckInReport]:
    url = settings.resolved_database_url()
    return await check_qbrs(url, today), await check_check_ins(url, today, settings.check_in_reminder_days)


def _check_qbrs_command(args: argparse.Namespace) -> int:
    today = date.fromisoformat(args.today) if args.today else utcnow().date()
    settings = ClientsSettings()
    print(
        f"checking Active clients for QBRs overdue and Platinum check-ins due or overdue on {today.isoformat()} ...",
        file=sys.stderr,
    )
    try:
        reported, check_ins = asyncio.run(_daily_check(settings, today))
    except OSError as exc:
        print(
            f"the clients database could not be reached ({exc}); start it or set CLIENTPULSE_CLIENTS_DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    print(
        f"check-qbrs: {reported} newly overdue QBR(s) announced; check-ins: {check_ins.due} due soon, "
        f"{check_ins.overdue} newly overdue announced",
        file=sys.stderr,
    )
    return 0


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "check-qbrs",
        help="announce QbrOverdue once per overdue episode, CheckInDue and CheckInOverdue once per Platinum "
        "check-in due date (the daily CronJob; safe to re-run)",
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
