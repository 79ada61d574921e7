"""``clientpulse-results-ingest``: serve, migrate, sync every connection, or rotate the stored secrets."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.servicecli import Command, service_cli
from clientpulse.shared.settings import refuse_development_defaults


def _sync(args: argparse.Namespace) -> int:
    from clientpulse.results_ingest.connectors.http import http_client, quiet_http_logs
    from clientpulse.results_ingest.domain.ingest import Runtime
    from clientpulse.results_ingest.domain.sync import sync_all
    from clientpulse.results_ingest.platforms import REGISTRY
    from clientpulse.results_ingest.secrets_vault import SecretBox
    from clientpulse.shared.db import Database, upgrade_to_head

    settings = ResultsSettings()
    if (refused := refuse_development_defaults(settings)) is not None:
        return refused
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    quiet_http_logs()
    url = settings.resolved_database_url()
    windows = ", ".join(f"{spec.name} {spec.reread_days} days" for spec in REGISTRY)
    print(f"syncing every connection's trailing window ({windows}) and its reach ...", file=sys.stderr)
    upgrade_to_head(MIGRATIONS, url)

    async def run() -> int:
        database = Database(url)
        nats, pauses = await _shared_pauses(settings.nats_url)
        box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
        try:
            async with http_client(settings) as http:
                report = await sync_all(Runtime(settings, box, http, pauses=pauses), database)
        finally:
            await database.dispose()
            if nats is not None:
                await nats.close()
        print(
            f"synced {report.synced} connections, {report.failed} failed, {len(report.waiting)} still waiting for "
            f"their platform, {report.rows_written} campaign-days written, {report.expiry_warnings} expiry warnings",
            file=sys.stderr,
        )
        for failure in report.failures:
            print(f"  failed: {failure}", file=sys.stderr)
        for waiting in report.waiting:
            print(f"  waiting (the next sync reads it): {waiting}", file=sys.stderr)
        return 1 if report.failed else 0

    return asyncio.run(run())


async def _shared_pauses(nats_url: str) -> tuple[Any, Any]:
    """The pauses every worker shares (NATS key-value); this process's own when NATS cannot be reached."""
    import nats

    from clientpulse.results_ingest.pauses import LocalPauses, NatsPauses

    try:
        connection = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    except Exception as exc:
        print(
            f"NATS at {nats_url} is not reachable ({exc}); platform pauses are kept by this sync alone. "
            "Start NATS or set CLIENTPULSE_NATS_URL so the service's workers share them.",
            file=sys.stderr,
        )
        return None, LocalPauses()
    return connection, NatsPauses(lambda: connection)


def _rotate_secrets(args: argparse.Namespace) -> int:
    from clientpulse.results_ingest.db.repositories.connections import ConnectionRepository
    from clientpulse.results_ingest.db.repositories.oauth_states import OAuthStateRepository
    from clientpulse.results_ingest.secrets_vault import SecretBox
    from clientpulse.shared.db import Database

    settings = ResultsSettings()
    if (refused := refuse_development_defaults(settings)) is not None:
        return refused
    box = SecretBox.from_json(settings.encryption_keys.get_secret_value())
    print("re-encrypting every stored connection secret with the first configured key ...", file=sys.stderr)

    async def run() -> int:
        database = Database(settings.resolved_database_url())
        try:
            async with database.transaction() as session:
                rotated = await ConnectionRepository(session).rotate_secrets(box.rotate)
                rotated += await OAuthStateRepository(session).rotate_verifiers(box.rotate)
        finally:
            await database.dispose()
        print(f"re-encrypted {rotated} secrets; keys after the first may now be removed", file=sys.stderr)
        return 0

    return asyncio.run(run())


def _extra(commands: argparse._SubParsersAction) -> dict[str, Command]:  # type: ignore[type-arg]
    commands.add_parser("sync", help="re-read each connection's trailing window and publish SyncCompleted")
    commands.add_parser("rotate-secrets", help="re-encrypt stored secrets with the first encryption key")
    return {"sync": _sync, "rotate-secrets": _rotate_secrets}


main = service_cli(
    service="results-ingest",
    app_factory="clientpulse.results_ingest.app:create_app",
    settings=ResultsSettings,
    migrations=MIGRATIONS,
    extra=_extra,
)

if __name__ == "__main__":
    sys.exit(main(None))
