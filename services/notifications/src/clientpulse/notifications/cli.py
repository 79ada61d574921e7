"""``clientpulse-notifications``: serve the notifications service, migrate its database, escalate overdue QBRs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime

from clientpulse.notifications.app import MIGRATIONS
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.servicecli import Command, service_cli


def _escalate(args: argparse.Namespace) -> int:
    from clientpulse.notifications.escalation import escalate_overdue_qbrs
    from clientpulse.notifications.events.handlers import Audience
    from clientpulse.shared.db import Database

    settings = NotificationsSettings()
    today: date = args.today or datetime.now(UTC).date()
    print(
        f"escalating QBRs overdue for {settings.qbr_escalation_days}+ more days as of {today} "
        f"to the Heads of {len(settings.squad_heads)} configured squads ...",
        file=sys.stderr,
    )

    async def run() -> int:
        database = Database(settings.resolved_database_url())
        try:
            summary = await escalate_overdue_qbrs(database, today, settings.squad_heads, Audience.of(settings).email)
        except Exception as exc:
            print(
                f"escalation failed against the database at {_safe(database.url)}: {exc}; check that it is up and "
                "migrated, or set CLIENTPULSE_NOTIFICATIONS_DATABASE_URL",
                file=sys.stderr,
            )
            return 1
        finally:
            await database.dispose()
        print(
            f"escalated {summary.episodes} overdue QBRs: {summary.notified} Head notifications, "
            f"{summary.resolved} closed by a QBR held since, "
            f"{summary.without_head} in squads without a configured Head (set CLIENTPULSE_NOTIFICATIONS_SQUAD_HEADS)",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(run())


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    escalate = commands.add_parser(
        "escalate", help="tell squad Heads of QBRs still overdue 14 days after the DM was told (daily CronJob)"
    )
    escalate.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the date to escalate as of (YYYY-MM-DD; default: today UTC)",
    )
    return {"escalate": _escalate}


main = service_cli(
    service="notifications",
    app_factory="clientpulse.notifications.app:create_app",
    settings=NotificationsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
