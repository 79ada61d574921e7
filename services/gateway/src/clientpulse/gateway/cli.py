"""``clientpulse-gateway``: run the gateway, or regenerate and check its committed OpenAPI document."""

from __future__ import annotations

import argparse
import sys

from clientpulse.gateway.openapi import (
    SERVICE_APP_FACTORIES,
    ServiceNotImportable,
    build_document,
    committed_document_path,
    render_document,
)
from clientpulse.gateway.settings import GatewaySettings
from clientpulse.shared.settings import refuse_development_defaults


def serve(host: str | None, port: int | None) -> int:
    """Run the gateway until SIGTERM or SIGINT; relayed event streams end at once with a reconnect hint."""
    from clientpulse.shared.shutdown import serve as serve_until_stopped

    settings = GatewaySettings()
    if (refused := refuse_development_defaults(settings)) is not None:
        return refused
    # uvicorn picks uvloop and httptools when they are installed. The gateway extends
    # X-Forwarded-For itself, from the peer it really talks to, so uvicorn must not rewrite it.
    return serve_until_stopped(
        "clientpulse.gateway.app:app_from_environment",
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=False,
    )


def openapi(*, write: bool, allow_missing: bool) -> int:
    """Write the committed OpenAPI document, or check that it is current (exit 1 when it is not)."""
    path = committed_document_path()
    print(f"building the OpenAPI document from the {', '.join(SERVICE_APP_FACTORIES)} apps", file=sys.stderr)
    try:
        document = build_document(allow_missing=allow_missing)
        rendered = render_document(document)
    except ServiceNotImportable as exc:
        print(f"{exc}; install the workspace (uv sync) or pass --allow-missing", file=sys.stderr)
        return 2
    current = path.read_text(encoding="utf-8") if path.exists() else None
    summary = f"{len(document['paths'])} paths, {len(document['components'].get('schemas', {}))} schemas"
    if write:
        if current == rendered:
            print(f"{path} is already up to date ({summary})")
        else:
            path.write_text(rendered, encoding="utf-8")
            print(f"wrote {path} ({summary})")
        return 0
    if current != rendered:
        print(f"{path} is out of date; run `clientpulse-gateway openapi --write` (or `make openapi`)", file=sys.stderr)
        return 1
    print(f"{path} is up to date ({summary})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clientpulse-gateway`` console script."""
    parser = argparse.ArgumentParser(prog="clientpulse-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the gateway (settings from CLIENTPULSE_GATEWAY_*)")
    serve_parser.add_argument("--host", help="address to listen on (default: CLIENTPULSE_GATEWAY_HOST or 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default: CLIENTPULSE_GATEWAY_PORT or 8000)")
    openapi_parser = commands.add_parser("openapi", help="regenerate or check the committed OpenAPI document")
    mode = openapi_parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the committed document")
    mode.add_argument("--check", action="store_true", help="exit 1 if the committed document is out of date")
    openapi_parser.add_argument(
        "--allow-missing", action="store_true", help="leave out services whose app does not import yet"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port)
    return openapi(write=args.write, allow_missing=args.allow_missing)


if __name__ == "__main__":
    sys.exit(main())
