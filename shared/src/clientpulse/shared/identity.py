"""Who is calling: roles, the identity the gateway forwards, and the client access rule.

The gateway authenticates the end user's JWT and forwards an *identity assertion* to the services in
the ``X-Clientpulse-Identity`` header: a short-lived HS256 token signed with a secret only the
gateway and the services hold. A service trusts nothing else: a request without the header, with
a tampered one, or an expired one is refused with 401.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt

IDENTITY_HEADER = "X-Clientpulse-Identity"
REQUEST_ID_HEADER = "X-Request-ID"
IDENTITY_ISSUER = "clientpulse-gateway"
IDENTITY_AUDIENCE = "clientpulse-services"
IDENTITY_TTL_SECONDS = 60
_IDENTITY_ALGORITHM = "HS256"
_LEEWAY_SECONDS = 5


class Role(enum.StrEnum):
    """The agency roles a JWT carries in its ``role`` claim."""

    EXECUTIVE = "executive"
    HEAD = "head"
    MANAGER = "manager"
    LEAD = "lead"
    EMPLOYEE = "employee"

    @classmethod
    def parse(cls, value: str) -> Role:
        """Read a role claim case-insensitively (``Executive`` and ``executive`` are the same)."""
        return cls(value.strip().lower())


# Roles that may use the clients module at all (docs/access.md); Lead and Employee get 403.
CLIENT_MODULE_ROLES = frozenset({Role.EXECUTIVE, Role.HEAD, Role.MANAGER})
# Roles that see and manage every client.
ALL_CLIENTS_ROLES = frozenset({Role.EXECUTIVE, Role.HEAD})


class IdentityError(Exception):
    """The forwarded identity is missing, tampered with or expired."""


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated user as the gateway vouches for them."""

    sub: str
    role: Role
    squad: str | None = None
    name: str | None = None

    @property
    def may_use_clients_module(self) -> bool:
        """Function-level access to the clients module: Executive, Head and Manager."""
        return self.role in CLIENT_MODULE_ROLES

    @property
    def sees_all_clients(self) -> bool:
        """Executives and Heads see and manage every client."""
        return self.role in ALL_CLIENTS_ROLES

    def can_access_client(self, *, dm_id: str | None, squad_id: str | None) -> bool:
        """Object-level access to one client (docs/access.md).

        Executives and Heads see every client; a Manager sees a client whose assigned delivery
        manager they are, or whose squad is theirs; Lead and Employee see none.
        """
        if self.sees_all_clients:
            return True
        if self.role is not Role.MANAGER:
            return False
        if dm_id is not None and dm_id == self.sub:
            return True
        return self.squad is not None and squad_id is not None and squad_id == self.squad

    def claims(self) -> dict[str, str]:
        """The identity as JSON-ready claims (without timing)."""
        out = {"sub": self.sub, "role": self.role.value}
        if self.squad:
            out["squad"] = self.squad
        if self.name:
            out["name"] = self.name
        return out


def sign_identity(identity: Identity, secret: str, *, now: float | None = None) -> str:
    """The signed identity assertion the gateway forwards to a service."""
    issued = int(now if now is not None else time.time())
    payload = {
        **identity.claims(),
        "iss": IDENTITY_ISSUER,
        "aud": IDENTITY_AUDIENCE,
        "iat": issued,
        "exp": issued + IDENTITY_TTL_SECONDS,
    }
    return jwt.encode(payload, secret, algorithm=_IDENTITY_ALGORITHM)


class IdentitySigner:
    """Signs the assertions the gateway forwards, one per identity for half the assertion's life.

    A caller's requests in those 30 seconds carry the same token, so a service verifies its signature
    once (``verify_identity`` remembers verified tokens) instead of once a request.
    """

    def __init__(self, secret: str, *, max_identities: int = 10_000) -> None:
        self._secret = secret
        self._max_identities = max_identities
        self._signed: dict[Identity, tuple[float, str]] = {}

    def __call__(self, identity: Identity, *, now: float | None = None) -> str:
        """The assertion for ``identity``: the one signed less than half its life ago, or a new one."""
        now = now if now is not None else time.time()
        known = self._signed.get(identity)
        if known is not None and now - known[0] < IDENTITY_TTL_SECONDS / 2:
            return known[1]
        if len(self._signed) >= self._max_identities:
            self._signed.clear()
        token = sign_identity(identity, self._secret, now=now)
        self._signed[identity] = (now, token)
        return token


def verify_identity(token: str, secret: str, *, now: float | None = None) -> Identity:
    """Check a forwarded identity assertion and return who it names.

    Raises ``IdentityError`` when the signature, issuer, audience or expiry is wrong. A token whose
    signature verified before is the same bytes signed with the same secret: only its expiry is
    checked again, here, on every call.
    """
    identity, expires = _verified(token, secret)
    if (now if now is not None else time.time()) > expires + _LEEWAY_SECONDS:
        raise IdentityError("the forwarded identity is not valid: Signature has expired")
    return identity


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Identity, float]:
    """Who a token names and when it expires, once its signature, issuer and audience check out.

    The expiry is not checked here (a remembered answer would outlive it): ``verify_identity`` does.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_IDENTITY_ALGORITHM],
            audience=IDENTITY_AUDIENCE,
            issuer=IDENTITY_ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"], "verify_exp": False},
        )
        identity = Identity(
            sub=str(claims["sub"]),
            role=Role.parse(str(claims["role"])),
            squad=claims.get("squad") or None,
            name=claims.get("name") or None,
        )
        return identity, float(claims["exp"])
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise IdentityError(f"the forwarded identity is not valid: {exc}") from exc
