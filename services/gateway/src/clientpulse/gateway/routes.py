"""The routing table: which service answers a public path, and who may call it.

Patterns are relative to ``/api/v1``. ``{name}`` stands for one path segment; a trailing ``...``
means "this path and anything below it" (``/companies...`` matches ``/companies`` and
``/companies/c-1/convert`` but not ``/companiesx``). The first matching route wins, so more specific
routes come first. Matching looks only at the routes that share the path's first segment.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from clientpulse.shared.identity import CLIENT_MODULE_ROLES, Role

API_PREFIX = "/api/v1"
GATEWAY = "gateway"

_PLACEHOLDER = re.compile(r"\{[^/{}]+\}")
# "." and ".." segments would let a path match one route and mean another upstream.
_DOT_SEGMENT = re.compile(r"/\.{1,2}(?:/|$)")


class Access(enum.StrEnum):
    """Function-level access rules (docs/access.md); object-level access is each service's job."""

    PUBLIC = "public"
    ANY = "any"
    CLIENTS_MODULE = "clients_module"
    EXECUTIVE = "executive"

    @property
    def needs_identity(self) -> bool:
        """Whether a caller must present a valid bearer token."""
        return self is not Access.PUBLIC

    def allows(self, role: Role) -> bool:
        """Whether a caller with ``role`` may use a route with this rule."""
        if self is Access.CLIENTS_MODULE:
            return role in CLIENT_MODULE_ROLES
        if self is Access.EXECUTIVE:
            return role is Role.EXECUTIVE
        return True

    def refusal(self, role: Role) -> str:
        """Why ``role`` is refused, in words a caller can act on."""
        if self is Access.EXECUTIVE:
            return f"only the executive role may use this function; the token's role is {role}"
        return f"the {role} role has no access to the clients module"


@dataclass(frozen=True, slots=True)
class Route:
    """One row of the routing table."""

    pattern: str
    service: str
    access: Access
    # The upstream answers with a long-lived event stream: no total timeout applies.
    streams: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    @property
    def first_segment(self) -> str:
        """The literal first segment of the pattern, used to dispatch quickly."""
        return self.pattern.removesuffix("...").lstrip("/").split("/", 1)[0]


def _compile(pattern: str) -> re.Pattern[str]:
    below = pattern.endswith("...")
    body = pattern.removesuffix("...")
    regex, position = [], 0
    for placeholder in _PLACEHOLDER.finditer(body):
        regex.append(re.escape(body[position : placeholder.start()]))
        regex.append("[^/]+")
        position = placeholder.end()
    regex.append(re.escape(body[position:]))
    return re.compile(re.escape(API_PREFIX) + "".join(regex) + ("(?:/.*)?" if below else "") + r"\Z")


class RoutingTable:
    """An ordered list of routes with a first-segment index."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        index: dict[str, list[Route]] = {}
        for route in self.routes:
            if _PLACEHOLDER.fullmatch(route.first_segment) or not route.first_segment:
                raise ValueError(f"route {route.pattern} must start with a literal segment")
            index.setdefault(route.first_segment, []).append(route)
        self._by_first_segment = {segment: tuple(rows) for segment, rows in index.items()}

    def match(self, path: str) -> Route | None:
        """The route for a decoded request path (``/api/v1/...``), or None when no route serves it."""
        if not path.startswith(API_PREFIX + "/") or _DOT_SEGMENT.search(path):
            return None
        first = path[len(API_PREFIX) + 1 :].split("/", 1)[0]
        for route in self._by_first_segment.get(first, ()):
            if route.regex.match(path):
                return route
        return None

    def services(self) -> set[str]:
        """Every upstream service the table sends requests to."""
        return {route.service for route in self.routes if route.service != GATEWAY}


# Served by the gateway itself.
ME_ROUTE = Route("/me", GATEWAY, Access.ANY)

ROUTING_TABLE = RoutingTable(
    [
        ME_ROUTE,
        Route("/me/attention", "clients", Access.CLIENTS_MODULE),
        Route("/me/notifications/stream", "notifications", Access.ANY, streams=True),
        Route("/me/notifications...", "notifications", Access.ANY),
        Route("/webhooks...", "notifications", Access.EXECUTIVE),
        Route("/companies...", "clients", Access.CLIENTS_MODULE),
        Route("/conversion-prompts...", "clients", Access.CLIENTS_MODULE),
        # The Review action lives with the client profile: its decision is the clients service's.
        Route("/clients/{client_id}/tiering/review-decision", "clients", Access.CLIENTS_MODULE),
        Route("/clients/{client_id}/tiering...", "tiering", Access.CLIENTS_MODULE),
        Route("/clients/{client_id}/connections...", "results", Access.CLIENTS_MODULE),
        Route("/clients/{client_id}/results...", "results", Access.CLIENTS_MODULE),
        Route("/clients/{client_id}/insights...", "insights", Access.CLIENTS_MODULE),
        Route("/clients...", "clients", Access.CLIENTS_MODULE),
        Route("/groups/{client_id}/portfolio", "tiering", Access.CLIENTS_MODULE),
        Route("/groups/{client_id}/members", "clients", Access.CLIENTS_MODULE),
        Route("/tiering/recalculations...", "tiering", Access.EXECUTIVE),
        Route("/tiering/invoices...", "tiering", Access.EXECUTIVE),
        Route("/tiering/framework/proposals...", "tiering", Access.EXECUTIVE),
        Route("/tiering...", "tiering", Access.CLIENTS_MODULE),
        Route("/oauth/{platform}/callback", "results", Access.PUBLIC),
    ]
)
