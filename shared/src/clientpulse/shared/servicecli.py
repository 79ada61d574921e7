"""The command line every service ships (``clientpulse-<service> serve|migrate|…``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from clientpulse.shared.db import upgrade_to_head
from clientpulse.shared.settings import ServiceSettings

Command = Callable[[argparse.Namespace], int]


def service_cli(
    *,
    service: str,
    app_factory: str,
    settings: Callable[[], ServiceSettings],
    migrations: Path,
    extra: Callable[[argparse._SubParsersAction], dict[str, Command]] | None = None,  # type: ignore[type-arg]
) -> Callable[[Sequence[str] | None], int]:
    """Build ``main(argv)`` for one service.

    - ``serve``: run the HTTP app with its consumers and outbox relay (uvicorn).
    - ``migrate``: apply the database migrations and exit (what the Helm hook Job runs).
    - anything ``extra`` adds (``recalculate``, ``sync``, …).
    """

    def main(argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(
            prog=f"clientpulse-{service}", description=f"The clientpulse {service} service."
        )
        commands = parser.add_subparsers(dest="command", required=True)
        serve = commands.add_parser("serve", help="run the service (HTTP API, event consumers, outbox relay)")
        serve.add_argument("--host", default=None, help="listen address (default from settings)")
        serve.add_argument("--port", type=int, default=None, help="listen port (default from settings)")
        commands.add_parser("migrate", help="apply database migrations and exit")
        handlers: dict[str, Command] = {
            "serve": _serve(app_factory, settings),
            "migrate": _migrate(settings, migrations),
        }
        if extra is not None:
            handlers.update(extra(commands))
        args = parser.parse_args(argv)
        return handlers[args.command](args)

    return main


def _serve(app_factory: str, settings: Callable[[], ServiceSettings]) -> Command:
    def run(args: argparse.Namespace) -> int:
        import uvicorn

        current = settings()
        uvicorn.run(
            app_factory,
            factory=True,
            host=args.host or current.host,
            port=args.port or current.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=20,
            lifespan="on",
        )
        return 0

    return run


def _migrate(settings: Callable[[], ServiceSettings], migrations: Path) -> Command:
    def run(_args: argparse.Namespace) -> int:
        current = settings()
        url = current.resolved_database_url()
        print(f"applying {current.service_name} migrations to {_safe(url)} ...", file=sys.stderr)
        upgrade_to_head(migrations, url)
        print(f"{current.service_name}: database is at the latest migration", file=sys.stderr)
        return 0

    return run


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
