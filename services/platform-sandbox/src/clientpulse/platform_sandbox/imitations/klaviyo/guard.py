"""Who is asking Klaviyo: the private key, the account it belongs to, the revision header, and the
refusals a test can make the sandbox answer (JSON:API errors)."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from aiohttp import web

from clientpulse.platform_sandbox.data import AccountProfile, default_profile
from clientpulse.platform_sandbox.faults import ACCOUNT_FAULTS, Argument, Fault, generic_answer
from clientpulse.platform_sandbox.imitations.klaviyo.data import DEMO_ACCOUNT
from clientpulse.platform_sandbox.state import TokenState, state_of

PLATFORM = "klaviyo"
FAULTS: dict[str, Argument] = {"missing_scope": Argument.NONE}
GRANT_KINDS: dict[str, float] = {"private_key": 10 * 365 * 86_400}
KEY_PREFIX = "pk_sbx_"
JSON_API = "application/vnd.api+json"
REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
_VOCABULARY = ACCOUNT_FAULTS | FAULTS


class Refused(Exception):
    """A request Klaviyo refuses with a JSON:API error."""

    def __init__(self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.headers = status, code, title, detail, headers or {}

    def answer(self) -> web.Response:
        error = {
            "id": str(uuid.uuid4()),
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": {"pointer": "/data/"},
            "links": {"type": "https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling"},
            "meta": {},
        }
        return web.json_response({"errors": [error]}, status=self.status, headers=self.headers, content_type=JSON_API)


def invalid(detail: str) -> Refused:
    return Refused(400, "invalid", "Invalid input.", detail)


def account_of(key: str) -> str:
    """The account a private key belongs to."""
    return key.removeprefix(KEY_PREFIX) if key.startswith(KEY_PREFIX) and len(key) > len(KEY_PREFIX) else DEMO_ACCOUNT


def profile_of(request: web.Request, account: str) -> AccountProfile:
    """The account as a test configured it, else a New York store selling in USD."""
    state = state_of(request)
    configured = state.profiles.get((PLATFORM, account))
    return configured or replace(default_profile(PLATFORM, account), currency="USD", time_zone="America/New_York")


def _fault_refusal(fault: Fault) -> Refused | None:
    if fault.name == "throttle":
        detail = "Request was throttled. Expected available in 1 second."
        return Refused(429, "throttled", "Request was throttled.", detail, {"Retry-After": "1"})
    if fault.name == "rate_limit":
        wait = fault.retry_after()
        detail = f"Request was throttled. Expected available in {wait} seconds."
        return Refused(429, "throttled", "Request was throttled.", detail, {"Retry-After": wait})
    if fault.name == "missing_scope":
        title = "You do not have permission to perform this action."
        return Refused(403, "permission_denied", title, "This API key is missing required scopes.")
    return None


def authorize(request: web.Request) -> tuple[str, web.Response | None]:
    """The account of the request's key, and Klaviyo's refusal of the request if it refuses it."""
    state = state_of(request)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme != "Klaviyo-API-Key" or not key:
        detail = "Missing or invalid authorization scheme. Please use Klaviyo-API-Key."
        return "", Refused(401, "not_authenticated", "Authentication credentials were not provided.", detail).answer()
    refused = Refused(
        401, "authentication_failed", "Incorrect authentication credentials.", "Incorrect authentication credentials."
    )
    if not key.startswith("pk_") and state.token_state(key) is TokenState.UNKNOWN:
        return "", refused.answer()
    if not REVISION.match(request.headers.get("revision", "")):
        return "", invalid("The revision header is required (YYYY-MM-DD).").answer()
    account = account_of(key)
    fault = state.next_fault(request, PLATFORM, account, _VOCABULARY)
    if fault is not None and fault.name == "expired_token":
        state.revoked_tokens.add(key)
    if state.token_state(key) in (TokenState.REVOKED, TokenState.EXPIRED):
        return account, refused.answer()
    if fault is None or fault.name in ("none", "expired_token"):
        return account, None
    problem = _fault_refusal(fault)
    return account, problem.answer() if problem is not None else generic_answer(fault)
