"""The problems the gateway itself answers with when a service or the identity provider fails it."""

from __future__ import annotations

from clientpulse.shared.errors import ProblemError


class UpstreamUnavailable(ProblemError):
    """The service could not be reached (refused, unresolvable, or no connection in time)."""

    status = 503
    slug = "upstream-unavailable"
    title = "Service unavailable"


class UpstreamTimeout(ProblemError):
    """The service accepted the request but did not answer in time."""

    status = 504
    slug = "upstream-timeout"
    title = "Gateway timeout"


class UpstreamBroken(ProblemError):
    """The service dropped the connection or sent something that is not HTTP."""

    status = 502
    slug = "bad-gateway"
    title = "Bad gateway"


class IdentityProviderUnavailable(ProblemError):
    """The JWKS could not be fetched and no keys are cached, so no token can be checked."""

    status = 503
    slug = "identity-provider-unavailable"
    title = "Identity provider unavailable"


def describe(exc: BaseException) -> str:
    """A short account of a transport failure for logs and problem details (timeouts have no message)."""
    return str(exc) or type(exc).__name__
