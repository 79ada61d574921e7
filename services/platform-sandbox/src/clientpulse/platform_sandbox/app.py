"""The sandbox's HTTP app (aiohttp): every platform imitation found in ``imitations``, the ``/_sandbox``
control routes that configure accounts, queue faults and grant tokens, and ``/healthz``."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from clientpulse.platform_sandbox import imitations
from clientpulse.platform_sandbox.bodies import bad_request, json_object, not_found, required_text
from clientpulse.platform_sandbox.faults import (
    ACCOUNT_FAULTS,
    TOKEN_ACCOUNT,
    TOKEN_FAULTS,
    Argument,
    UnknownFault,
    parse_fault,
)
from clientpulse.platform_sandbox.state import OPTIONS, STATE, SandboxOptions, SandboxState, state_of


@dataclass(frozen=True, slots=True)
class Imitation:
    """One platform's imitation, as its module in ``imitations`` declares it."""

    platform: str
    add_routes: Callable[[web.UrlDispatcher], None]
    faults: dict[str, Argument]  # faults it answers beyond ACCOUNT_FAULTS
    grant_kinds: dict[str, float]  # token kind → seconds a granted token lives; the first is the default


IMITATIONS: web.AppKey[dict[str, Imitation]] = web.AppKey("imitations")


def discover_imitations() -> dict[str, Imitation]:
    """Every module of the ``imitations`` package, by platform key."""
    found: dict[str, Imitation] = {}
    for module_info in sorted(pkgutil.iter_modules(imitations.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{imitations.__name__}.{module_info.name}")
        platform, add_routes = getattr(module, "PLATFORM", None), getattr(module, "add_routes", None)
        if not isinstance(platform, str) or not callable(add_routes):
            raise TypeError(f"{module.__name__} must declare PLATFORM (a string) and add_routes(router)")
        if platform in found:
            raise TypeError(f"{module.__name__} imitates {platform!r}, which another module already does")
        found[platform] = Imitation(
            platform=platform,
            add_routes=add_routes,
            faults=dict(getattr(module, "FAULTS", {})),
            grant_kinds=dict(getattr(module, "GRANT_KINDS", {"access": 3600})),
        )
    return found


def _imitation(request: web.Request, platform: str) -> Imitation:
    known = request.app[IMITATIONS]
    if platform not in known:
        raise bad_request(f"no imitation of platform {platform!r}; known: {', '.join(sorted(known))}")
    return known[platform]


async def control_faults(request: web.Request) -> web.Response:
    """``POST /_sandbox/faults`` queues faults for an account (``@token``: the token endpoints);
    ``DELETE`` forgets every queued fault, revoked token, remembered throttle and reported usage."""
    state = state_of(request)
    if request.method == "DELETE":
        state.reset()
        return web.json_response({"cleared": True})
    body = await json_object(request)
    platform, account = required_text(body, "platform"), required_text(body, "account_id")
    imitation = _imitation(request, platform)
    texts = body.get("faults", [])
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise bad_request("'faults' must be a list of fault names")
    vocabulary = TOKEN_FAULTS if account == TOKEN_ACCOUNT else ACCOUNT_FAULTS | imitation.faults
    try:
        parsed = [parse_fault(text, vocabulary) for text in texts]
    except UnknownFault as problem:
        raise bad_request(f"{platform} {account}: {problem}") from None
    queue = state.faults[(platform, account)]
    queue.extend(parsed)
    return web.json_response({"queued": [str(fault) for fault in queue]})


_PROFILE_FIELDS: dict[str, tuple[type, ...]] = {
    "campaigns": (int,),
    "currency": (str,),
    "time_zone": (str,),
    "name": (str,),
    "latency": (int, float),
    "pause_every": (int,),
}


async def control_accounts(request: web.Request) -> web.Response:
    """``POST /_sandbox/accounts``: how an account looks (campaign count, currency, time zone, latency…)."""
    state = state_of(request)
    body = await json_object(request)
    platform, account = required_text(body, "platform"), required_text(body, "account_id")
    _imitation(request, platform)
    changes: dict[str, Any] = {}
    for name, types in _PROFILE_FIELDS.items():
        if name not in body:
            continue
        value = body[name]
        negative = isinstance(value, int | float) and value < 0
        if isinstance(value, bool) or not isinstance(value, types) or negative:
            raise bad_request(f"{name!r} must be {' or '.join(t.__name__ for t in types)} (numbers at least 0)")
        changes[name] = value
    state.profiles[(platform, account)] = replace(state.profile(platform, account), **changes)
    return web.json_response({"platform": platform, "account_id": account, **changes})


async def control_requests(request: web.Request) -> web.Response:
    """``GET /_sandbox/requests``: requests received per ``platform/account``."""
    return web.json_response({f"{p}/{a}": n for (p, a), n in state_of(request).requests.items()})


async def control_grant(request: web.Request) -> web.Response:
    """``POST /_sandbox/grants/{platform}``: a token pair as if a person had consented (for seeding connections).

    ``kind`` picks the kind of access token (Meta: ``user``, ``system_user``); ``expires_in`` (seconds)
    makes it expire sooner than the platform's usual lifetime.
    """
    state = state_of(request)
    platform = request.match_info["platform"]
    known = request.app[IMITATIONS]
    if platform not in known:
        raise not_found(f"no imitation of platform {platform!r}; known: {', '.join(sorted(known))}")
    kinds = known[platform].grant_kinds
    kind = request.query.get("kind") or next(iter(kinds))
    if kind not in kinds:
        raise bad_request(f"{platform} grants kind {', '.join(kinds)}, not {kind!r}")
    lifetime: float = kinds[kind]
    if "expires_in" in request.query:
        try:
            lifetime = int(request.query["expires_in"])
        except ValueError:
            raise bad_request("expires_in must be a whole number of seconds") from None
        if lifetime <= 0:
            raise bad_request("expires_in must be at least 1 second")
    access_token, _ = state.issue_token(platform, kind=kind, lifetime=lifetime)
    # Only the pair: callers pass this answer on as a connection's credentials, field for field.
    return web.json_response({"access_token": access_token, "refresh_token": state.issue_refresh_token(platform)})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_sandbox_app(*, google_page_size: int = 10_000, clock: Callable[[], float] = time.time) -> web.Application:
    """The sandbox app; ``google_page_size`` below 10,000 makes small data paginate; ``clock`` is wall-clock
    seconds (tests move it to expire tokens and throttles)."""
    app = web.Application()
    app[STATE] = SandboxState(clock=clock)
    app[OPTIONS] = SandboxOptions(google_page_size=google_page_size)
    app[IMITATIONS] = discover_imitations()
    router = app.router
    router.add_get("/healthz", healthz)
    router.add_post("/_sandbox/faults", control_faults)
    router.add_delete("/_sandbox/faults", control_faults)
    router.add_post("/_sandbox/accounts", control_accounts)
    router.add_get("/_sandbox/requests", control_requests)
    router.add_post("/_sandbox/grants/{platform}", control_grant)
    for imitation in app[IMITATIONS].values():
        imitation.add_routes(router)
    return app


def run_sandbox(host: str, port: int, *, google_page_size: int = 10_000) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(create_sandbox_app(google_page_size=google_page_size), host=host, port=port, print=None)
