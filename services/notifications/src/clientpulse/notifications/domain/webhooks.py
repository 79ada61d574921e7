"""Outgoing webhook rules: signatures, target addresses, retries and when an endpoint is disabled. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

SIGNATURE_HEADER = "X-Clientpulse-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The event types a webhook may subscribe to: the events this service already consumes.
WEBHOOK_EVENT_TYPES = (
    "ClientCreated",
    "ClientAssigned",
    "TierChanged",
    "HealthScoreRecorded",
    "QbrOverdue",
    "CheckInDue",
    "CheckInOverdue",
    "SeniorDmMissing",
    "DealWon",
    "BackfillCompleted",
    "BackfillFailed",
    "RecalculationCompleted",
)


class TargetRefused(ValueError):
    """A webhook URL the service will not call, with the reason in words."""


def new_secret() -> str:
    """A fresh signing secret (shown to the Executive once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_box(key: str) -> Fernet:
    """The cipher that keeps signing secrets encrypted at rest (any key string; stretched to Fernet's 32 bytes)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def seal_secret(key: str, secret: str) -> str:
    """A signing secret as stored."""
    return secret_box(key).encrypt(secret.encode()).decode()


def open_secret(key: str, sealed: str) -> str:
    """A stored signing secret, decrypted to sign a delivery."""
    return secret_box(key).decrypt(sealed.encode()).decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the webhook's secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Clientpulse-Signature`` value: ``t=<unix seconds>,v1=<hex hmac>`` (Stripe's layout)."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: True when the header signs this body with this secret, recently enough.

    A tampered body or header, a wrong secret, or a timestamp more than ``tolerance`` seconds away
    from ``now`` (a replay) all fail.
    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


def parse_networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """The allowed networks of the settings (``127.0.0.0/8``, ``::1/128``)."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def is_forbidden_address(address: IPAddress) -> bool:
    """True for addresses a webhook must not reach: private, loopback, link-local, reserved, multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_forbidden_address(address.ipv4_mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_addresses(host: str, addresses: Sequence[IPAddress], allowed: Sequence[IPNetwork]) -> None:
    """Refuse a target when any address its host resolves to is forbidden and not explicitly allowed.

    Every address counts: a host resolving to one public and one private address is refused, so DNS
    cannot smuggle an internal target in beside a public one.
    """
    if not addresses:
        raise TargetRefused(f"{host} does not resolve to any address")
    for address in addresses:
        if is_forbidden_address(address) and not any(address in network for network in allowed):
            raise TargetRefused(
                f"{host} resolves to {address}, a private, loopback or link-local address; "
                "webhooks may only call public addresses"
            )


def check_url(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host and port of a webhook URL, or ``TargetRefused`` saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"{url!r} is not a valid URL: {exc}") from exc
    allowed_schemes = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise TargetRefused(f"the URL must use {' or '.join(allowed_schemes)}, not {parts.scheme or 'nothing'!r}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials; the signature authenticates deliveries")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def retry_delay(failed_attempts: int, delays: Sequence[float]) -> float:
    """Seconds to wait before the next attempt after ``failed_attempts`` failures (last delay repeats)."""
    if not delays:
        return 0.0
    return delays[min(failed_attempts, len(delays)) - 1] if failed_attempts > 0 else 0.0


def is_success(status_code: int) -> bool:
    """A receiver accepted a delivery when it answered 2xx."""
    return 200 <= status_code < 300


def should_disable(consecutive_failures: int, disable_after: int) -> bool:
    """An endpoint is disabled once ``disable_after`` attempts in a row have failed."""
    return consecutive_failures >= disable_after
