"""``clientpulse-platform-sandbox``: serve the platform imitations (tests and the demo; never production)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="clientpulse-platform-sandbox",
        description="Imitations of the Meta Ads, Google Ads and TikTok Ads APIs for tests and the demo.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4260)
    parser.add_argument("--google-page-size", type=int, default=10_000, help="rows per Google Ads search page")
    args = parser.parse_args(argv)
    if args.google_page_size < 1:
        parser.error("--google-page-size must be at least 1")

    from clientpulse.platform_sandbox.app import discover_imitations, run_sandbox

    platforms = ", ".join(sorted(discover_imitations()))
    print(
        f"platform sandbox on http://{args.host}:{args.port} ({platforms}; control routes under /_sandbox)",
        file=sys.stderr,
    )
    try:
        run_sandbox(args.host, args.port, google_page_size=args.google_page_size)
    except OSError as problem:
        print(
            f"the sandbox could not listen on {args.host}:{args.port} ({problem.strerror}); "
            "stop what uses the port or pass --port",
            file=sys.stderr,
        )
        return 1
    return 0
