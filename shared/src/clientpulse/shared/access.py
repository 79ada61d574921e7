"""Function-level access checks a service repeats behind the gateway (defence in depth)."""

from __future__ import annotations

from clientpulse.shared.errors import Forbidden
from clientpulse.shared.identity import Identity, Role


def require_clients_module(identity: Identity) -> Identity:
    """Executive, Head and Manager only; Lead and Employee get 403 (docs/access.md)."""
    if not identity.may_use_clients_module:
        raise Forbidden(f"the {identity.role.value} role has no access to the clients module")
    return identity


def require_executive(identity: Identity) -> Identity:
    """Executives only."""
    if identity.role is not Role.EXECUTIVE:
        raise Forbidden("only an Executive may do this")
    return identity


def require_executive_or_head(identity: Identity) -> Identity:
    """Executives and Heads only (the roles that see every client): settings of a client such as its
    Productive company. Checked after the client's visibility, so another squad's Manager still gets
    the 404 an unknown client gets, and the client's own Manager a 403."""
    if not identity.sees_all_clients:
        raise Forbidden(f"only an Executive or a Head may do this; the token's role is {identity.role.value}")
    return identity
