"""``clientpulse``: the operator's and developer's command line.

- ``clientpulse run``: the whole system on this machine (embedded mode), with demo data.
- ``clientpulse token --role manager --sub u-42 --squad s-1``: print a development token.
- ``clientpulse publish InvoicePosted --data '{…}'``: publish an event of the catalogue by hand.
- ``clientpulse seed``: load the demo data into a running system.
- ``clientpulse schedules``: each scheduled job, its last run and its next (``make run`` runs them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from clientpulse.shared.contracts import EVENTS_BY_NAME, wrap
from clientpulse.shared.identity import Role
from clientpulse.shared.settings import var_dir
from clientpulse.shared.tokens import JwtSettings, mint_token

if TYPE_CHECKING:
    from clientpulse.shared.devstack import Stack


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clientpulse`` command."""
    parser = argparse.ArgumentParser(prog="clientpulse", description="clientpulse: client intelligence for agencies.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the whole system locally (embedded mode) with demo data")
    run.add_argument("--no-seed", action="store_true", help="start empty, without demo data")
    run.add_argument(
        "--no-schedules", action="store_true", help="do not run the scheduled jobs (clientpulse schedules)"
    )

    token = commands.add_parser("token", help="print a development token (HS256, CLIENTPULSE_JWT_* settings)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--sub", required=True, help="the user id")
    token.add_argument("--squad", default=None)
    token.add_argument("--name", default=None)
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")

    publish = commands.add_parser("publish", help="publish an event of the catalogue to NATS")
    publish.add_argument("event", help=f"one of: {', '.join(sorted(EVENTS_BY_NAME))}")
    publish.add_argument("--data", required=True, help="the event's payload as JSON (or @file.json)")
    publish.add_argument("--id", default=None, help="event id (default: a new UUIDv7)")
    publish.add_argument("--nats-url", default=None, help="default: CLIENTPULSE_NATS_URL, or the running `make run`")

    seed = commands.add_parser("seed", help="load the demo data through a running gateway")
    seed.add_argument("--gateway-url", default="http://127.0.0.1:8000")
    seed.add_argument("--nats-url", default=None)
    seed.add_argument("--sandbox-url", default=None, help="connect demo ad accounts from this platform sandbox")

    schedules = commands.add_parser("schedules", help="each scheduled job with its schedule, last run and next run")
    schedules.add_argument("--json", action="store_true", help="one JSON object per job instead of the table")

    args = parser.parse_args(argv)
    if args.command == "schedules":
        from clientpulse.shared.schedules_report import print_schedules

        return print_schedules(var_dir(), as_json=args.json)
    if args.command == "token":
        print(
            mint_token(
                JwtSettings(),
                sub=args.sub,
                role=Role(args.role),
                squad=args.squad,
                name=args.name,
                ttl_seconds=args.ttl,
            )
        )
        return 0
    if args.command == "publish":
        return _publish(args)
    if args.command == "seed":
        return _seed(args)
    return _run(args)


def _nats_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if env := os.environ.get("CLIENTPULSE_NATS_URL"):
        return env
    from clientpulse.shared.devstack import running_stack_nats_url

    return running_stack_nats_url(var_dir()) or "nats://127.0.0.1:4222"


def _publish(args: argparse.Namespace) -> int:
    event = EVENTS_BY_NAME.get(args.event)
    if event is None:
        print(f"unknown event {args.event!r}; one of: {', '.join(sorted(EVENTS_BY_NAME))}", file=sys.stderr)
        return 2
    raw = Path(args.data[1:]).read_text() if args.data.startswith("@") else args.data
    try:
        data = event.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        print(f"the payload is not a valid {event.event_type}: {exc}", file=sys.stderr)
        return 2
    envelope = wrap(data, source="cli", event_id=args.id)
    url = _nats_url(args.nats_url)
    from clientpulse.shared.messaging.direct import publish_envelopes

    try:
        duplicate = asyncio.run(publish_envelopes(url, [envelope]))[0]
    except Exception as exc:
        print(f"NATS at {url} did not take the event ({exc}); start it or pass --nats-url", file=sys.stderr)
        return 1
    print(json.dumps({"id": envelope.id, "subject": event.subject, "duplicate": duplicate}))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from clientpulse.shared.demo import run_seed

    summary = run_seed(args.gateway_url, _nats_url(args.nats_url), var_dir() / "seeded.json", args.sandbox_url)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("company_ids", "backfill_ids")}))
    return 0


def _run(args: argparse.Namespace) -> int:
    from clientpulse.shared.demo import DEMO_SETTINGS, dev_tokens, run_seed
    from clientpulse.shared.devstack import Stack, StackError

    folder = var_dir()
    # The embedded development mode: the built-in development secrets are allowed (docs/security.md).
    stack = Stack(
        var_dir=folder, env={"CLIENTPULSE_DEV_MODE": "true", **DEMO_SETTINGS, **_explicit(DEMO_SETTINGS)}, web=True
    )
    print(f"starting clientpulse (data in {folder}, logs in {stack.log_dir}) ...", flush=True)
    try:
        stack.start()
    except StackError as exc:
        print(f"clientpulse could not start: {exc}", file=sys.stderr)
        return 1
    stopped = threading.Event()
    code = 1
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    scheduling = None if args.no_schedules else _start_scheduler(stack, stopped)
    try:
        if not args.no_seed:
            summary = run_seed(stack.gateway_url, str(stack.nats_url), folder / "seeded.json", stack.sandbox_url)
            if summary.get("skipped"):
                print("demo data: already loaded", flush=True)
            else:
                print(
                    f"demo data: {summary['companies']} companies, {summary['invoices']} invoices, "
                    f"{summary['deals']} won deal, {summary.get('connections', 0)} ad accounts "
                    "(30-day backfills running)",
                    flush=True,
                )
        _print_banner(stack.gateway_url, str(stack.nats_url), stack.sandbox_url, dev_tokens(), stack.web_url)
        # A crashed service is restarted with backoff; one that keeps crashing stops everything.
        code = stack.supervise(stopped)
    finally:
        print("\nstopping clientpulse ...", flush=True)
        stopped.set()
        if scheduling is not None:
            scheduling.join()
        stack.stop()
        print("stopped.", flush=True)
    return code


def _start_scheduler(stack: Stack, stopped: threading.Event) -> threading.Thread:
    """The table's jobs on their schedules, beside the services, in a thread (startup does not wait)."""
    thread = threading.Thread(target=_schedule, args=(stack, stopped), name="scheduler", daemon=True)
    thread.start()
    return thread


def _schedule(stack: Stack, stopped: threading.Event) -> None:
    from clientpulse.shared.scheduler import Scheduler
    from clientpulse.shared.schedules import RunStore, ScheduleError, load_jobs

    try:
        jobs = load_jobs()
    except ScheduleError as exc:
        print(f"schedules: none will run, the table is not valid: {exc}", file=sys.stderr, flush=True)
        return
    Scheduler(jobs, RunStore(stack.var_dir / "schedules.sqlite3"), stack.log_dir, stack.environment).run(stopped)


def _explicit(defaults: dict[str, str]) -> dict[str, str]:
    """The operator's own values of the demo settings win over the demo's."""
    return {key: os.environ[key] for key in defaults if key in os.environ}


def _print_banner(gateway_url: str, nats_url: str, sandbox_url: str, tokens: dict[Role, str], web_url: str) -> None:
    lines = [
        "",
        "clientpulse is running.",
        f"  console   {web_url}   (development sign-in: pick a role, user and squad)",
        f"  gateway   {gateway_url}",
        f"  API docs  {gateway_url}/schema   (OpenAPI: {gateway_url}/schema/openapi.json)",
        f"  NATS      {nats_url}",
        f"  sandbox   {sandbox_url}   (stands in for the nine platforms)",
        "",
        "Development tokens (valid 12 hours):",
    ]
    for role, token in tokens.items():
        lines.append(f"  {role.value:<9} {token}")
    manager = tokens[Role.MANAGER]
    lines += [
        "",
        "Try:",
        f"  curl -H 'Authorization: Bearer {manager}' {gateway_url}/api/v1/clients",
        "  clientpulse schedules   # the scheduled jobs (run here as in production): last and next runs",
        "  # once the backfills are done, the weekly analysis now (what runs every Monday):",
        f"  CLIENTPULSE_NATS_URL={nats_url} .venv/bin/clientpulse-insights analyze-week",
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
