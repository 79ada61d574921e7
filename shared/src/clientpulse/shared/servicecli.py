"""The command line every service ships (``clientpulse-<service> serve|migrate|…``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clientpulse.shared.contracts import Envelope
from clientpulse.shared.db import upgrade_to_head
from clientpulse.shared.messaging.broker import StreamSettings
from clientpulse.shared.messaging.direct import publish_envelopes
from clientpulse.shared.settings import ServiceSettings, refuse_development_defaults

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
        from clientpulse.shared.shutdown import serve

        current = settings()
        if (refused := refuse_development_defaults(current)) is not None:
            return refused
        # On SIGTERM: live streams end at once with a reconnect hint, the rest drains, exit 0.
        return serve(app_factory, host=args.host or current.host, port=args.port or current.port)

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


def request_work(settings: ServiceSettings, envelope: Envelope[Any], *, asking: str, key: str, requested: str) -> int:
    """Publish a command event for the service to act on, and say what happened (what a CronJob runs).

    The envelope's id is derived from what it asks for, so JetStream drops a second copy; the service
    keeps the request idempotent beyond that window. ``asking`` says what is asked, ``key`` names it
    (a period, a week) and ``requested`` where its outcome shows. Exit codes: 0 requested or already
    requested, 1 NATS could not take it.
    """
    print(f"asking {asking} (event {envelope.id}, NATS {settings.nats_url}) ...", file=sys.stderr)
    try:
        (duplicate,) = asyncio.run(
            publish_envelopes(
                settings.nats_url, [envelope], stream_settings=StreamSettings(replicas=settings.stream_replicas)
            )
        )
    except Exception as exc:
        print(
            f"error: NATS at {settings.nats_url} could not take the request ({exc}); "
            "start it or set CLIENTPULSE_NATS_URL",
            file=sys.stderr,
        )
        return 1
    if duplicate:
        print(f"{key}: already requested (a duplicate of the same request); nothing new", file=sys.stderr)
    else:
        print(f"{key}: requested; {requested}", file=sys.stderr)
    return 0
