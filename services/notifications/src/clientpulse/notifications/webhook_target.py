"""A webhook's target resolved once, checked, and called at exactly the address that was checked.

Checking the addresses a name resolves to and then letting the HTTP client resolve the name again
leaves a gap (DNS rebinding): the name's owner can answer a public address to the check and an
internal one to the connection. So a delivery resolves the name once (``resolve_target``), refuses it
when any address is forbidden (``domain.webhooks.check_addresses``), and ``post_pinned`` sends the
request to the checked address itself.

How the request reaches the address while still speaking to the hostname: the request's URL carries
the address, the ``Host`` header carries the hostname, and httpcore's ``sni_hostname`` request
extension makes the TLS handshake send the hostname as SNI and verify the certificate against it
(``ssl`` checks the certificate against the ``server_hostname`` it is given, which is that name).
This is httpx's documented per-request knob and needs nothing beyond the default transport; the
alternative, a custom ``httpcore`` network backend whose ``connect_tcp`` swaps the host for an
address, would need a backend (and so a transport and connection pool) per target, or shared state
telling one call of ``connect_tcp`` which check it belongs to.

No connection is reused (``pinned_client`` keeps none idle): the pool is keyed by scheme, address and
port, so a kept connection could carry a later delivery for another hostname on the same address with
the first one's TLS session, or outlive the check it was opened after. The client ignores proxy
settings from the environment (``trust_env=False``): a proxy would resolve the name itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from ssl import SSLContext

import httpx

from clientpulse.notifications.domain import webhooks as rules
from clientpulse.notifications.settings import NotificationsSettings

Resolver = Callable[[str, int], Awaitable[Sequence[rules.IPAddress]]]


async def system_resolver(host: str, port: int) -> list[rules.IPAddress]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """A webhook URL with the addresses its host resolved to, all of them checked."""

    url: httpx.URL
    addresses: tuple[rules.IPAddress, ...]

    @property
    def hostname(self) -> str:
        """The host as sent on the wire (IDNA-encoded): the ``Host`` header's and the SNI name."""
        return self.url.raw_host.decode("ascii")


async def resolve_target(
    url: str,
    *,
    require_https: bool,
    allowed_networks: Sequence[str],
    resolver: Resolver = system_resolver,
) -> PinnedTarget:
    """Resolve the URL's host once and check every address; ``TargetRefused`` says what is wrong."""
    host, port = rules.check_url(url, require_https=require_https)
    try:
        addresses = list(dict.fromkeys(await resolver(host, port)))
    except (OSError, ValueError) as exc:  # UnicodeError (a bad IDNA name) is a ValueError
        raise rules.TargetRefused(f"{host} could not be resolved: {exc}") from exc
    rules.check_addresses(host, addresses, rules.parse_networks(allowed_networks))
    return PinnedTarget(httpx.URL(url), tuple(addresses))


async def check_target(url: str, settings: NotificationsSettings, resolver: Resolver = system_resolver) -> PinnedTarget:
    """``resolve_target`` with the service's settings (HTTPS required, networks allowed)."""
    return await resolve_target(
        url,
        require_https=settings.webhook_require_https,
        allowed_networks=settings.webhook_allowed_networks,
        resolver=resolver,
    )


def pinned_client(
    timeout: float, *, headers: Mapping[str, str] | None = None, verify: SSLContext | bool = True
) -> httpx.AsyncClient:
    """An HTTP client for ``post_pinned``: no redirects, no kept connections, no proxy from the environment."""
    return httpx.AsyncClient(
        timeout=timeout,
        # A receiver could otherwise bounce a delivery to an internal address.
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
        verify=verify,
        headers=headers,
    )


async def post_pinned(
    client: httpx.AsyncClient, target: PinnedTarget, *, content: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    """POST to the target at its checked addresses (the next one only when one refuses the connection)."""
    refused: httpx.ConnectError | None = None
    for address in target.addresses:
        literal = target.hostname.strip("[]")
        extensions = {}
        if target.url.scheme == "https" and literal != str(address):
            extensions["sni_hostname"] = target.hostname
        try:
            return await client.post(
                target.url.copy_with(host=str(address)),
                content=content,
                headers={**headers, "Host": target.url.netloc.decode("ascii")},
                extensions=extensions,
            )
        except httpx.ConnectError as exc:
            refused = exc
    assert refused is not None  # resolve_target never pins an empty list
    raise refused
