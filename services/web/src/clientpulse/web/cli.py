"""``clientpulse-web``: serve the web console."""

from __future__ import annotations

import argparse
import sys

from clientpulse.shared.settings import refuse_development_defaults
from clientpulse.web.settings import WebSettings


def serve(host: str | None, port: int | None) -> int:
    """Run the console until SIGTERM or SIGINT."""
    from clientpulse.shared.shutdown import serve as serve_until_stopped
    from clientpulse.shared.telemetry import configure_logging

    settings = WebSettings()
    configure_logging(settings.service_name, level=settings.log_level, json_lines=settings.log_json)
    if (refused := refuse_development_defaults(settings)) is not None:
        return refused
    return serve_until_stopped(
        "clientpulse.web.app:app_from_environment", host=host or settings.host, port=port or settings.port
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clientpulse-web`` console script."""
    parser = argparse.ArgumentParser(prog="clientpulse-web", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the console (settings from CLIENTPULSE_WEB_*)")
    serve_parser.add_argument("--host", help="address to listen on (default: CLIENTPULSE_WEB_HOST or 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default: CLIENTPULSE_WEB_PORT or 8080)")
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
