"""``clientpulse-results-ingest``: serve, migrate, sync every connection, or run the platform sandbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.servicecli import Command, service_cli


def _sync(args: argparse.Namespace) -> int:
    from clientpulse.results_ingest.connectors.factory import quiet_http_logs
    from clientpulse.results_ingest.domain.sync import sync_all
    from clientpulse.shared.db import Database, upgrade_to_head

    settings = ResultsSettings()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    quiet_http_logs()
    url = settings.resolved_database_url()
    print("syncing every connection's trailing window (Meta 28 days, Google Ads 14, TikTok 7) ...", file=sys.stderr)
    upgrade_to_head(MIGRATIONS, url)

    async def run() -> int:
        database = Database(url)
        try:
            report = await sync_all(settings, database)
        finally:
            await database.dispose()
        print(
            f"synced {report.synced} connections, {report.failed} failed, {report.rows_written} campaign-days written",
            file=sys.stderr,
        )
        for failure in report.failures:
            print(f"  failed: {failure}", file=sys.stderr)
        return 1 if report.failed else 0

    return asyncio.run(run())


def _rotate_secrets(args: argparse.Namespace) -> int:
    from clientpulse.results_ingest.db.repositories import ConnectionRepository
    from clientpulse.results_ingest.secrets_vault import SecretBox
    from clientpulse.shared.db import Database

    settings = ResultsSettings()
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    print("re-encrypting every stored connection secret with the first configured key ...", file=sys.stderr)

    async def run() -> int:
        database = Database(settings.resolved_database_url())
        try:
            async with database.transaction() as session:
                rotated = await ConnectionRepository(session).rotate_secrets(box.rotate)
        finally:
            await database.dispose()
        print(f"re-encrypted {rotated} secrets; keys after the first may now be removed", file=sys.stderr)
        return 0

    return asyncio.run(run())


def _sandbox(args: argparse.Namespace) -> int:
    from clientpulse.results_ingest.sandbox.app import run_sandbox

    print(
        f"platform sandbox on http://{args.host}:{args.port} (Meta /meta, Google Ads /google-ads, TikTok /tiktok)",
        file=sys.stderr,
    )
    run_sandbox(args.host, args.port, google_page_size=args.google_page_size)
    return 0


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    commands.add_parser("sync", help="re-read each connection's trailing window and publish SyncCompleted")
    sandbox = commands.add_parser("sandbox", help="run the platform sandbox (tests and the demo; never production)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=4260)
    sandbox.add_argument("--google-page-size", type=int, default=10_000, help="rows per Google Ads search page")
    commands.add_parser("rotate-secrets", help="re-encrypt stored secrets with the first encryption key")
    return {"sync": _sync, "sandbox": _sandbox, "rotate-secrets": _rotate_secrets}


main = service_cli(
    service="results-ingest",
    app_factory="clientpulse.results_ingest.app:create_app",
    settings=ResultsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
