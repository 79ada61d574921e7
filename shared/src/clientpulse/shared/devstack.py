"""The whole system as local processes: NATS, every service and the gateway.

``make run`` uses it in the embedded mode (SQLite files and NATS data under ``./var``); the e2e
tests use it with a real PostgreSQL and the tests' NATS. Each service runs as its own process,
exactly as in production, started through its own console script.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from clientpulse.shared.embedded import NatsServerProcess, free_port, port_open
from clientpulse.shared.restarts import RestartPolicy, ServiceRestarts


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """How to start one service."""

    name: str
    env_prefix: str
    port: int

    @property
    def command(self) -> str:
        """The service's console script."""
        return f"clientpulse-{self.name}"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("clients", "CLIENTPULSE_CLIENTS_", 8001),
    ServiceSpec("tiering", "CLIENTPULSE_TIERING_", 8002),
    ServiceSpec("results-ingest", "CLIENTPULSE_RESULTS_", 8003),
    ServiceSpec("insights", "CLIENTPULSE_INSIGHTS_", 8004),
    ServiceSpec("notifications", "CLIENTPULSE_NOTIFICATIONS_", 8005),
)
GATEWAY = ServiceSpec("gateway", "CLIENTPULSE_GATEWAY_", 8000)
# The web console: a client of the gateway like any browser's, started after it when asked for.
WEB = ServiceSpec("web", "CLIENTPULSE_WEB_", 8080)
# Gateway settings naming each upstream.
UPSTREAM_SETTING = {
    "clients": "CLIENTS_URL",
    "tiering": "TIERING_URL",
    "results-ingest": "RESULTS_URL",
    "insights": "INSIGHTS_URL",
    "notifications": "NOTIFICATIONS_URL",
}
EMBEDDED_NATS_PORT = 4250
# The platform sandbox stands in for Meta, Google Ads, TikTok… in the embedded mode and the tests.
SANDBOX_PORT = 4260


def free_ports(host: str = "127.0.0.1") -> dict[str, int]:
    """A free port for the sandbox, every service and the gateway: a stack that runs beside ``make run``."""
    return {name: free_port(host) for name in ("sandbox", *(spec.name for spec in (*SERVICES, GATEWAY)))}


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""


@dataclass
class Stack:
    """Processes of one running system.

    ``ports`` maps service names (and ``gateway``) to ports; ``database_urls`` maps service names
    to database URLs (SQLite under ``var_dir`` when absent); ``nats_url`` None starts an embedded
    ``nats-server`` with its data under ``var_dir/nats``.
    """

    var_dir: Path
    nats_url: str | None = None
    database_urls: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    nats_port: int = EMBEDDED_NATS_PORT
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats: NatsServerProcess | None = None
    # Start the web console too (``make run`` and the browser tests do).
    web: bool = False

    def port(self, name: str) -> int:
        """The port a service (or the gateway, the ``web`` console, or the ``sandbox``) listens on."""
        if name == "sandbox":
            return self.ports.get(name, SANDBOX_PORT)
        if name == "web":
            return self.ports.get(name, WEB.port)
        default = GATEWAY.port if name == "gateway" else next(s.port for s in SERVICES if s.name == name)
        return self.ports.get(name, default)

    @property
    def sandbox_url(self) -> str:
        """The platform sandbox."""
        return f"http://{self.host}:{self.port('sandbox')}"

    @property
    def gateway_url(self) -> str:
        """Where the gateway answers."""
        return f"http://{self.host}:{self.port('gateway')}"

    @property
    def web_url(self) -> str:
        """Where the web console answers."""
        return f"http://{self.host}:{self.port('web')}"

    def service_url(self, name: str) -> str:
        """Where one service answers (directly, bypassing the gateway)."""
        return f"http://{self.host}:{self.port(name)}"

    @property
    def log_dir(self) -> Path:
        """One log file per process."""
        return self.var_dir / "logs"

    def start(self, *, timeout: float = 90.0) -> None:
        """Start NATS (if embedded), every service, then the gateway; wait until all are ready."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in ["sandbox", *(spec.name for spec in (*SERVICES, GATEWAY)), *(["web"] if self.web else [])]:
            if port_open(self.host, self.port(name)):
                raise StackError(
                    f"port {self.port(name)} for {name} is taken; stop what uses it (an earlier "
                    "`make run`?) and try again"
                )
        if self.nats_url is None:
            self.nats = NatsServerProcess(self.var_dir / "nats", port=self.nats_port, host=self.host)
            try:
                self.nats.start()
            except RuntimeError as exc:
                raise StackError(f"could not start nats-server: {exc}") from exc
            self.nats_url = self.nats.url
        try:
            self._spawn_sandbox()
            for spec in SERVICES:
                self._spawn(spec)
            self._wait_ready(["sandbox", *(s.name for s in SERVICES)], timeout)
            self._spawn(GATEWAY)
            self._wait_ready(["gateway"], timeout)
            if self.web:
                self._spawn(WEB)
                self._wait_ready(["web"], timeout)
        except BaseException:
            self.stop()
            raise
        self._write_state()

    def environment(self, name: str) -> dict[str, str]:
        """The environment a service's processes get (its server, and its commands the scheduler runs)."""
        named = {"gateway": GATEWAY, "web": WEB}
        return self._environment(named.get(name) or next(s for s in SERVICES if s.name == name))

    def _environment(self, spec: ServiceSpec) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env["CLIENTPULSE_NATS_URL"] = str(self.nats_url)
        env["CLIENTPULSE_VAR_DIR"] = str(self.var_dir)
        env.setdefault("CLIENTPULSE_LOG_JSON", "true")
        env[f"{spec.env_prefix}HOST"] = self.host
        env[f"{spec.env_prefix}PORT"] = str(self.port(spec.name))
        if spec.name in self.database_urls:
            env[f"{spec.env_prefix}DATABASE_URL"] = self.database_urls[spec.name]
        if spec.name == "results-ingest":
            # Every platform is reached through the sandbox (each platform module names its paths there).
            env[f"{spec.env_prefix}SANDBOX_URL"] = self.sandbox_url
            env[f"{spec.env_prefix}OAUTH_REDIRECT_BASE"] = self.gateway_url
        if spec.name == "insights":
            # The weekly analysis reads each client's campaign table from results-ingest.
            env[f"{spec.env_prefix}RESULTS_URL"] = self.service_url("results-ingest")
            # The relationship summary reads its records from clients and tiering.
            env[f"{spec.env_prefix}CLIENTS_URL"] = self.service_url("clients")
            env[f"{spec.env_prefix}TIERING_URL"] = self.service_url("tiering")
        if spec is WEB:
            env[f"{WEB.env_prefix}GATEWAY_URL"] = self.gateway_url
            env[f"{WEB.env_prefix}PUBLIC_URL"] = self.web_url
            # The development sign-in mints tokens with the gateway's JWT settings (docs/security.md).
            env.setdefault(f"{WEB.env_prefix}DEV_SIGN_IN", env.get("CLIENTPULSE_DEV_MODE", "false"))
        if spec is GATEWAY:
            for service, setting in UPSTREAM_SETTING.items():
                env[f"{GATEWAY.env_prefix}{setting}"] = self.service_url(service)
        return env

    def _spawn(self, spec: ServiceSpec) -> None:
        executable = Path(sys.executable).parent / spec.command
        command = [str(executable) if executable.exists() else spec.command, "serve"]
        # The child holds its own copy of the log's descriptor; ours is closed once it is started.
        with open(self.log_dir / f"{spec.name}.log", "ab") as log:
            self.processes[spec.name] = subprocess.Popen(  # noqa: S603 - our own console scripts
                command, env=self._environment(spec), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _spawn_sandbox(self) -> None:
        executable = Path(sys.executable).parent / "clientpulse-platform-sandbox"
        command = [str(executable), "--host", self.host, "--port", str(self.port("sandbox"))]
        with open(self.log_dir / "sandbox.log", "ab") as log:
            self.processes["sandbox"] = subprocess.Popen(  # noqa: S603 - our own console script
                command, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _spawn_named(self, name: str) -> None:
        if name == "sandbox":
            self._spawn_sandbox()
        else:
            named = {"gateway": GATEWAY, "web": WEB}
            self._spawn(named.get(name) or next(s for s in SERVICES if s.name == name))

    def _wait_ready(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    process = self.processes[name]
                    if process.poll() is not None:
                        raise StackError(
                            f"{name} exited with code {process.returncode}; see {self.log_dir / (name + '.log')}"
                        )
                    try:
                        probe = "/healthz" if name in ("sandbox", "web") else "/readyz"
                        if client.get(f"{self.service_url(name)}{probe}").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise StackError(
                        f"{', '.join(sorted(pending))} not ready after {timeout:.0f}s; see the logs in {self.log_dir}"
                    )
                if pending:
                    time.sleep(0.2)

    def stop_service(self, name: str, *, kill: bool = False, timeout: float = 20.0) -> None:
        """Stop one process (SIGTERM for a graceful drain, or SIGKILL)."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart_service(self, name: str, *, timeout: float = 60.0) -> None:
        """Start a stopped service again and wait until it is ready."""
        self._spawn_named(name)
        self._wait_ready([name], timeout)

    def supervise(
        self,
        stopped: threading.Event,
        *,
        policy: RestartPolicy | None = None,
        report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        poll_interval: float = 0.2,
    ) -> int:
        """Keep the running processes up until ``stopped`` is set; 0 then, 1 when one kept crashing.

        A process that exits unasked is started again after the policy's delay (other processes are
        watched meanwhile), and ``report`` says so. One that crashes ``max_crashes`` times within the
        policy's window stops the whole system. A process removed by ``stop_service`` is not watched.
        """
        policy = policy or RestartPolicy()
        restarts: dict[str, ServiceRestarts] = {}
        for name in self.processes:
            restarts[name] = ServiceRestarts(policy)
            restarts[name].started()
        due: dict[str, float] = {}
        while not stopped.is_set():
            for name, process in list(self.processes.items()):
                if name in due or process.poll() is None:
                    continue
                code = process.returncode
                exited = f"{name} exited with code {code}"
                if code < 0:
                    exited += f" ({signal.Signals(-code).name})"
                decision = restarts.setdefault(name, ServiceRestarts(policy)).crashed()
                log = self.log_dir / f"{name}.log"
                if not decision.restart:
                    report(
                        f"{exited}; it crashed {decision.crash} times within {policy.window:g} s, "
                        f"stopping everything; see {log}"
                    )
                    self.stop()
                    return 1
                report(
                    f"{exited}; restarting in {decision.delay:g} s "
                    f"(crash {decision.crash} of {decision.max_crashes}); see {log}"
                )
                due[name] = time.monotonic() + decision.delay
            for name, at in list(due.items()):
                if time.monotonic() >= at:
                    del due[name]
                    self._spawn_named(name)
                    restarts[name].started()
                    report(f"{name} restarted (pid {self.processes[name].pid})")
                    self._write_state()
            stopped.wait(poll_interval)
        return 0

    def stop(self) -> None:
        """Stop the gateway, then the services, then NATS."""
        for name in ["web", "gateway", *[s.name for s in SERVICES], "sandbox"]:
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.terminate()
        for name in list(self.processes):
            self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        state = self.var_dir / "stack.json"
        state.unlink(missing_ok=True)

    def _write_state(self) -> None:
        state = {
            "gateway_url": self.gateway_url,
            "nats_url": self.nats_url,
            "pids": {n: p.pid for n, p in self.processes.items()},
        }
        (self.var_dir / "stack.json").write_text(json.dumps(state, indent=2))


def running_stack_nats_url(var_dir: Path) -> str | None:
    """The NATS URL of a stack started by ``clientpulse run`` from this folder, if one runs."""
    state = var_dir / "stack.json"
    if not state.exists():
        return None
    try:
        return str(json.loads(state.read_text())["nats_url"])
    except (ValueError, KeyError):
        return None
