"""The fault vocabulary: what a test can make a platform answer instead of data.

A fault is queued per (platform, account) with ``POST /_sandbox/faults`` and popped one per request, or
sent on a single request in the ``X-Sandbox-Fault`` header. A fault is a name with an optional number
after a colon (``rate_limit:2``, ``throttle_wait:15``). The faults every imitation understands are below;
an imitation adds its own in its ``FAULTS``. The token endpoints read their own queue, the account
``@token``, which takes only the token faults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from aiohttp import web

FAULT_HEADER = "X-Sandbox-Fault"
# The queue the OAuth token endpoints of a platform read (code exchange, refresh, token exchange).
TOKEN_ACCOUNT = "@token"  # noqa: S105 - a queue name, not a credential


class Argument(Enum):
    """Whether a fault takes a number after its colon."""

    NONE = "takes no argument"
    OPTIONAL_SECONDS = "takes optional seconds"
    OPTIONAL_MINUTES = "takes optional minutes"
    MINUTES = "needs minutes"


# Faults every imitation answers, with what their number means.
ACCOUNT_FAULTS: dict[str, Argument] = {
    "none": Argument.NONE,  # answers normally; a placeholder so a later request in the queue gets the fault
    "rate_limit": Argument.OPTIONAL_SECONDS,  # HTTP 429 with Retry-After (default 1 second)
    "server_error": Argument.NONE,  # HTTP 503
    "expired_token": Argument.NONE,  # the platform's expired-token answer; the token stays dead
    "malformed": Argument.NONE,  # HTTP 200 with a body cut in half
    "throttle": Argument.NONE,  # the platform's own throttling answer
}
TOKEN_FAULTS: dict[str, Argument] = {
    "none": Argument.NONE,
    "token_rate_limit": Argument.OPTIONAL_SECONDS,  # the token endpoint refuses for a while
    "token_server_error": Argument.NONE,  # HTTP 503 from the token endpoint
    "invalid_client": Argument.NONE,  # the app's client id or secret is not accepted
    "invalid_grant": Argument.NONE,  # the code, refresh token or exchanged token is dead
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: its name and, for some, a number (seconds or minutes)."""

    name: str
    argument: float | None = None

    def retry_after(self) -> str:
        """The Retry-After header value in whole seconds (``0``: try again at once, as HTTP allows)."""
        return str(max(0, math.ceil(self.argument))) if self.argument is not None else "1"

    def __str__(self) -> str:
        return self.name if self.argument is None else f"{self.name}:{self.argument:g}"


class UnknownFault(ValueError):
    """A fault the sandbox cannot answer; the message names the known ones."""


def parse_fault(text: str, vocabulary: dict[str, Argument]) -> Fault:
    """``text`` (``name`` or ``name:number``) as a fault of ``vocabulary``.

    Raises ``UnknownFault`` saying what is wrong: an unknown name, a missing, unexpected or
    non-positive number (seconds may be 0).
    """
    name, _, raw = text.strip().partition(":")
    if name not in vocabulary:
        raise UnknownFault(f"unknown fault {text!r}; known here: {', '.join(sorted(vocabulary))}")
    expected = vocabulary[name]
    if not raw:
        if expected is Argument.MINUTES:
            raise UnknownFault(f"fault {name!r} needs minutes: {name}:<minutes>")
        return Fault(name)
    if expected is Argument.NONE:
        raise UnknownFault(f"fault {name!r} takes no argument, got {text!r}")
    try:
        number = float(raw)
    except ValueError:
        raise UnknownFault(f"fault {text!r}: {raw!r} is not a number") from None
    # Retry-After may be 0 (try again now); a stated wait in minutes is at least one.
    lowest_allowed_is_zero = expected is Argument.OPTIONAL_SECONDS
    if not math.isfinite(number) or number < 0 or (number == 0 and not lowest_allowed_is_zero):
        raise UnknownFault(f"fault {text!r}: the number must be positive")
    return Fault(name, number)


def generic_answer(fault: Fault) -> web.Response | None:
    """The answer to a fault that looks the same on every platform, or ``None`` for the others."""
    if fault.name == "rate_limit":
        return web.json_response(
            {"error": {"message": "Too Many Requests"}}, status=429, headers={"Retry-After": fault.retry_after()}
        )
    if fault.name == "server_error":
        return web.json_response({"error": {"message": "Service Unavailable"}}, status=503)
    if fault.name == "malformed":
        return web.Response(status=200, text='{"data": [{"campaign_id": "12', content_type="application/json")
    return None
