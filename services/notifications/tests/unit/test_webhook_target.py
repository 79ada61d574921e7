"""A webhook is sent to exactly the address that was checked, speaking to its hostname (Host, SNI, certificate).

Real servers on loopback: plain HTTP, and HTTPS with a self-signed certificate for a hostname that only
the test's resolver knows (the system's resolver would fail on it, so a request that resolved the name
again could not reach any server).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clientpulse.notifications.domain.webhooks import IPAddress, TargetRefused
from clientpulse.notifications.webhook_target import pinned_client, post_pinned, resolve_target

HOSTNAME = "hooks.rebind.test"
LOOPBACK_ONLY = ["127.0.0.0/8"]


@dataclass
class Receiver:
    """A loopback HTTP(S) server that records what each request carried."""

    host: str
    port: int = 0
    tls: ssl.SSLContext | None = None
    received: list[dict[str, str]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"host": self.headers["Host"], "path": self.path, "body": body.decode()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)  # type: ignore[assignment,misc]
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RebindingResolver:
    """Answers one set of addresses the first time and another every time after."""

    def __init__(self, first: Sequence[str], later: Sequence[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in first], [ipaddress.ip_address(a) for a in later]]
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls) - 1, 1)]


def self_signed(hostname: str, folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def checked_and_rebound() -> Iterator[tuple[Receiver, Receiver]]:
    """The server at the checked address (127.0.0.1) and one on the same port at 127.0.0.2."""
    checked = Receiver("127.0.0.1")
    rebound = Receiver("127.0.0.2", checked.port)
    yield checked, rebound
    checked.close()
    rebound.close()


def test_the_hostname_does_not_resolve_without_the_test_resolver() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(HOSTNAME, 80)


async def test_a_rebinding_name_is_called_at_the_address_that_was_checked(
    checked_and_rebound: tuple[Receiver, Receiver],
) -> None:
    checked, rebound = checked_and_rebound
    resolver = RebindingResolver(first=["127.0.0.1"], later=["127.0.0.2"])
    url = f"http://{HOSTNAME}:{checked.port}/hook?x=1"

    target = await resolve_target(url, require_https=False, allowed_networks=LOOPBACK_ONLY, resolver=resolver)
    async with pinned_client(5.0) as client:
        first = await post_pinned(client, target, content=b"one", headers={})
        target = await resolve_target(url, require_https=False, allowed_networks=LOOPBACK_ONLY, resolver=resolver)
        second = await post_pinned(client, target, content=b"two", headers={})

    assert (first.status_code, second.status_code) == (204, 204)
    assert resolver.calls == [(HOSTNAME, checked.port), (HOSTNAME, checked.port)]
    assert checked.received == [{"host": f"{HOSTNAME}:{checked.port}", "path": "/hook?x=1", "body": "one"}]
    assert rebound.received == [{"host": f"{HOSTNAME}:{checked.port}", "path": "/hook?x=1", "body": "two"}]


async def test_https_speaks_to_the_hostname_at_the_checked_address(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(HOSTNAME, tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    receiver = Receiver("127.0.0.1", tls=server_tls)
    trusted = ssl.create_default_context(cafile=str(cert_file))
    try:
        resolver = RebindingResolver(first=["127.0.0.1"], later=["127.0.0.2"])
        target = await resolve_target(
            f"https://{HOSTNAME}:{receiver.port}/hook",
            require_https=True,
            allowed_networks=LOOPBACK_ONLY,
            resolver=resolver,
        )
        async with pinned_client(5.0, verify=trusted) as client:
            response = await post_pinned(client, target, content=b"{}", headers={"X-Test": "1"})

        assert response.status_code == 204
        assert receiver.server_names == [HOSTNAME]
        assert receiver.received == [{"host": f"{HOSTNAME}:{receiver.port}", "path": "/hook", "body": "{}"}]
        assert len(resolver.calls) == 1

        # The certificate is checked against the webhook's hostname, not the address connected to.
        other = await resolve_target(
            f"https://other.rebind.test:{receiver.port}/hook",
            require_https=True,
            allowed_networks=LOOPBACK_ONLY,
            resolver=RebindingResolver(first=["127.0.0.1"], later=[]),
        )
        async with pinned_client(5.0, verify=trusted) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await post_pinned(client, other, content=b"{}", headers={})
        assert receiver.server_names == [HOSTNAME, "other.rebind.test"]
        assert len(receiver.received) == 1
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("answers", "allowed", "refused"),
    [
        (["127.0.0.1"], [], "127.0.0.1, a private, loopback or link-local"),
        (["93.184.216.34", "10.0.0.7"], [], "10.0.0.7"),
        (["169.254.169.254"], LOOPBACK_ONLY, "169.254.169.254"),
        (["::1"], LOOPBACK_ONLY, "::1"),
        ([], LOOPBACK_ONLY, "does not resolve to any address"),
    ],
)
async def test_a_target_resolving_to_a_forbidden_address_is_refused(
    checked_and_rebound: tuple[Receiver, Receiver], answers: list[str], allowed: list[str], refused: str
) -> None:
    checked, rebound = checked_and_rebound
    resolver = RebindingResolver(first=answers, later=["127.0.0.1"])
    with pytest.raises(TargetRefused, match=refused.replace(".", r"\.")):
        await resolve_target(
            f"http://{HOSTNAME}:{checked.port}/hook", require_https=False, allowed_networks=allowed, resolver=resolver
        )
    assert checked.received == rebound.received == []


async def test_a_refused_connection_falls_back_to_the_next_checked_address(
    checked_and_rebound: tuple[Receiver, Receiver],
) -> None:
    checked, rebound = checked_and_rebound
    rebound.close()
    resolver = RebindingResolver(first=["127.0.0.2", "127.0.0.1"], later=["127.0.0.3"])
    target = await resolve_target(
        f"http://{HOSTNAME}:{checked.port}/hook", require_https=False, allowed_networks=LOOPBACK_ONLY, resolver=resolver
    )
    async with pinned_client(5.0) as client:
        assert (await post_pinned(client, target, content=b"x", headers={})).status_code == 204
    assert len(checked.received) == 1
