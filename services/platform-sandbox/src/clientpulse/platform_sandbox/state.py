"""What one sandbox process remembers: accounts a test configured, tokens it issued, queued faults,
refusals still in force, and how many requests each account received."""

from __future__ import annotations

import json
import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from aiohttp import web

from clientpulse.platform_sandbox.data import AccountProfile, default_profile
from clientpulse.platform_sandbox.faults import FAULT_HEADER, Argument, Fault, UnknownFault, parse_fault

# The key of a refusal that covers every account of a platform (an app-wide limit).
WHOLE_APP = "*"


class TokenState(Enum):
    """What the sandbox knows of an access token it is shown."""

    LIVE = "live"
    EXPIRED = "expired"  # past its expiry
    REVOKED = "revoked"  # killed by an ``expired_token`` fault or an ``invalid_grant``
    UNKNOWN = "unknown"  # never issued here (tests may still use made-up tokens on data routes)


@dataclass(slots=True)
class IssuedToken:
    """An access token the sandbox issued: for which platform, of which kind, until when."""

    platform: str
    kind: str  # "access", or Meta's "user_short" / "user" / "system_user"
    expires_at: float | None  # wall-clock seconds; None never expires

    def seconds_left(self, now: float) -> int | None:
        """Whole seconds until it expires (None when it never does)."""
        return None if self.expires_at is None else max(0, math.floor(self.expires_at - now))


@dataclass(frozen=True, slots=True)
class Refusal:
    """A throttle the platform keeps applying until ``until`` (wall clock)."""

    fault: Fault
    until: float

    def minutes_left(self, now: float) -> int:
        """Minutes until access returns, rounded up, at least 1 (as Meta reports them)."""
        return max(1, math.ceil((self.until - now) / 60))


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How the process was started."""

    google_page_size: int = 10_000  # below Google's 10,000 rows per page, small data paginates


@dataclass
class SandboxState:
    """Everything the sandbox remembers between requests; ``clock`` is wall-clock seconds."""

    clock: Callable[[], float] = time.time
    profiles: dict[tuple[str, str], AccountProfile] = field(default_factory=dict)
    faults: defaultdict[tuple[str, str], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    revoked_tokens: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token → platform
    codes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # authorization code → its grant
    requests: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    refusals: dict[tuple[str, str], Refusal] = field(default_factory=dict)  # (platform, account or WHOLE_APP)
    # Usage figures a platform reports on its answers, as a test set them (Meta's x-app-usage).
    reported_usage: dict[str, dict[str, float]] = field(default_factory=dict)

    def now(self) -> float:
        """Wall-clock seconds."""
        return self.clock()

    def profile(self, platform: str, account_id: str) -> AccountProfile:
        """The account as a test configured it, else its deterministic default."""
        return self.profiles.get((platform, account_id)) or default_profile(platform, account_id)

    def configured_accounts(self, platform: str) -> list[str]:
        """Accounts of a platform that a test configured with ``POST /_sandbox/accounts``."""
        return [account for (known, account) in self.profiles if known == platform]

    def next_fault(
        self, request: web.Request, platform: str, account_id: str | None, vocabulary: dict[str, Argument]
    ) -> Fault | None:
        """The fault this request gets: the ``X-Sandbox-Fault`` header, else the next queued for the account.

        Counts the request for the account. ``account_id`` None (a request for no account, such as
        account discovery) only honours the header. A header naming a fault outside ``vocabulary`` is a
        400 that says so.
        """
        if account_id is not None:
            self.requests[(platform, account_id)] += 1
        header = request.headers.get(FAULT_HEADER)
        if header:
            try:
                return parse_fault(header, vocabulary)
            except UnknownFault as problem:
                raise web.HTTPBadRequest(
                    text=json.dumps({"error": f"{FAULT_HEADER}: {problem}"}), content_type="application/json"
                ) from None
        queue = self.faults.get((platform, account_id)) if account_id is not None else None
        return queue.popleft() if queue else None

    def issue_token(self, platform: str, *, kind: str = "access", lifetime: float | None) -> tuple[str, IssuedToken]:
        """A new access token living ``lifetime`` seconds (None: forever)."""
        token = f"sbx-{platform}-{secrets.token_urlsafe(12)}"
        issued = IssuedToken(platform, kind, None if lifetime is None else self.now() + lifetime)
        self.tokens[token] = issued
        return token, issued

    def issue_refresh_token(self, platform: str) -> str:
        """A new refresh token of a platform."""
        refresh = f"sbx-refresh-{secrets.token_urlsafe(12)}"
        self.refresh_tokens[refresh] = platform
        return refresh

    def token_state(self, token: str) -> TokenState:
        """Whether an access token still works."""
        if token in self.revoked_tokens:
            return TokenState.REVOKED
        issued = self.tokens.get(token)
        if issued is None:
            return TokenState.UNKNOWN
        if issued.expires_at is not None and issued.expires_at <= self.now():
            return TokenState.EXPIRED
        return TokenState.LIVE

    def refuse(self, platform: str, account_id: str, fault: Fault, minutes: float) -> Refusal:
        """Keep refusing an account (or ``WHOLE_APP``) with ``fault`` for ``minutes``."""
        refusal = Refusal(fault, self.now() + minutes * 60)
        self.refusals[(platform, account_id)] = refusal
        return refusal

    def refusal(self, platform: str, account_id: str) -> Refusal | None:
        """The refusal still in force for an account (or ``WHOLE_APP``), if any."""
        refusal = self.refusals.get((platform, account_id))
        if refusal is not None and refusal.until <= self.now():
            del self.refusals[(platform, account_id)]
            return None
        return refusal

    def reset(self) -> None:
        """Forget queued faults, revoked tokens, refusals and reported usage (``DELETE /_sandbox/faults``)."""
        self.faults.clear()
        self.revoked_tokens.clear()
        self.refusals.clear()
        self.reported_usage.clear()


STATE = web.AppKey("state", SandboxState)
OPTIONS = web.AppKey("options", SandboxOptions)


def state_of(request: web.Request) -> SandboxState:
    """The sandbox state of the app answering ``request``."""
    return request.app[STATE]
