"""Static checks of the container packaging: Dockerfile, docker-compose.yml and their helper files.

No Docker engine is needed: the files are parsed and checked against each other and against the
workspace (service ports, environment variables, console scripts).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
POSTGRES_INIT = ROOT / "deploy" / "compose" / "postgres-init.sql"
PROMETHEUS = ROOT / "deploy" / "compose" / "prometheus.yml"


@dataclass(frozen=True)
class Service:
    name: str  # compose service, Dockerfile target and services/<name> directory
    prefix: str  # settings env prefix: CLIENTPULSE_<prefix>_
    port: int
    database: str | None  # PostgreSQL database it owns (the gateway has none)


SERVICES = [
    Service("gateway", "GATEWAY", 8000, None),
    Service("clients", "CLIENTS", 8001, "clients"),
    Service("tiering", "TIERING", 8002, "tiering"),
    Service("results-ingest", "RESULTS", 8003, "results"),
    Service("insights", "INSIGHTS", 8004, "insights"),
    Service("notifications", "NOTIFICATIONS", 8005, "notifications"),
    Service("web", "WEB", 8080, None),
]
BACKENDS = [service for service in SERVICES if service.database is not None]
ids = pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
backend_ids = pytest.mark.parametrize("service", BACKENDS, ids=lambda s: s.name)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def _logical_lines(text: str) -> list[str]:
    """Dockerfile lines with comments dropped and backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored by Docker too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line in _logical_lines(text):
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, f"unparsable FROM line: {line}"
            stages.append(Stage(name=match.group(2), base=match.group(1)))
        elif stages:
            stages[-1].instructions.append((keyword, args))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    parsed = _parse_dockerfile(DOCKERFILE.read_text())
    named = {stage.name: stage for stage in parsed if stage.name}
    assert len(named) == len(parsed), "every Dockerfile stage should be named"
    return named


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


@pytest.fixture(scope="module")
def init_databases() -> set[str]:
    sql = POSTGRES_INIT.read_text()
    return {name.lower() for name in re.findall(r'CREATE\s+DATABASE\s+"?(\w+)"?', sql, re.IGNORECASE)}


def _env(compose_service: dict[str, Any]) -> dict[str, str]:
    environment = compose_service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) for item in environment)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _published_ports(compose_service: dict[str, Any]) -> list[tuple[str | None, int, int]]:
    """(host ip, host port, container port) of every published port, short or long syntax."""
    published: list[tuple[str | None, int, int]] = []
    for entry in compose_service.get("ports") or []:
        if isinstance(entry, dict):
            host_port = entry.get("published")
            assert host_port is not None, f"a port with no published host port: {entry}"
            published.append((entry.get("host_ip"), int(host_port), int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        assert len(parts) >= 2, f"port {entry!r} is not published to a host port"
        host_ip = parts[0] if len(parts) == 3 else None
        published.append((host_ip, int(parts[-2]), int(parts[-1])))
    return published


def _depends_on(compose_service: dict[str, Any]) -> dict[str, str]:
    depends = compose_service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def _exec_form(args: str) -> list[str]:
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(item, str) for item in parsed), args
    return parsed


def _option(argv: list[str], flag: str) -> str | None:
    for index, item in enumerate(argv):
        if item == flag and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith(flag + "="):
            return item.split("=", 1)[1]
    return None


# --------------------------------------------------------------------------------------------
# docker-compose.yml against the Dockerfile
# --------------------------------------------------------------------------------------------


@ids
def test_every_service_is_built_from_a_dockerfile_target(
    service: Service, compose: dict[str, Any], stages: dict[str, Stage]
) -> None:
    assert service.name in compose["services"], f"{service.name} missing from docker-compose.yml"
    build = compose["services"][service.name].get("build")
    assert isinstance(build, dict), f"{service.name}: build should name a context and a target"
    assert str(build.get("context")).rstrip("/") in {".", "./"}
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert build.get("target") == service.name
    assert service.name in stages, f"no `FROM ... AS {service.name}` stage in the Dockerfile"


def test_every_compose_build_target_exists(compose: dict[str, Any], stages: dict[str, Stage]) -> None:
    for name, definition in compose["services"].items():
        build = definition.get("build")
        if isinstance(build, dict) and "target" in build:
            assert build["target"] in stages, f"{name}: no Dockerfile stage {build['target']!r}"


def test_only_the_gateway_and_the_console_publish_a_port_on_loopback(compose: dict[str, Any]) -> None:
    publishing = {
        name
        for name, definition in compose["services"].items()
        if _published_ports(definition) and not definition.get("profiles")
    }
    assert publishing == {"gateway", "web"}
    ports = _published_ports(compose["services"]["gateway"])
    assert [(host, container) for _ip, host, container in ports] == [(8000, 8000)]
    assert _published_ports(compose["services"]["web"]) == [("127.0.0.1", 8080, 8080)]


def test_the_console_is_built_from_its_target_and_signs_tokens_the_gateway_accepts(
    compose: dict[str, Any], stages: dict[str, Stage]
) -> None:
    web = compose["services"]["web"]
    assert web["build"]["target"] == "web" and "web" in stages
    env, gateway_env = _env(web), _env(compose["services"]["gateway"])
    assert env["CLIENTPULSE_WEB_GATEWAY_URL"] == "http://gateway:8000"
    for name in (
        "CLIENTPULSE_JWT_SECRET",
        "CLIENTPULSE_JWT_ISSUER",
        "CLIENTPULSE_JWT_AUDIENCE",
        "CLIENTPULSE_JWT_ALGORITHMS",
    ):
        assert env[name] == gateway_env[name], name
    assert stages["web"].last("ENTRYPOINT") == '["clientpulse-web"]'


def test_monitoring_uis_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, definition in compose["services"].items():
        if definition.get("profiles"):
            for host_ip, _host, _container in _published_ports(definition):
                assert host_ip == "127.0.0.1", f"{name} is published beyond loopback"


@ids
def test_every_service_reaches_nats_and_shares_the_identity_secret(service: Service, compose: dict[str, Any]) -> None:
    env = _env(compose["services"][service.name])
    nats = urlsplit(env.get("CLIENTPULSE_NATS_URL", ""))
    assert (nats.scheme, nats.hostname, nats.port) == ("nats", "nats", 4222)
    assert env.get("CLIENTPULSE_IDENTITY_SECRET"), f"{service.name} has no CLIENTPULSE_IDENTITY_SECRET"


def test_identity_secret_is_identical_everywhere(compose: dict[str, Any]) -> None:
    secrets = {
        name: _env(definition).get("CLIENTPULSE_IDENTITY_SECRET")
        for name, definition in compose["services"].items()
        if name in {service.name for service in SERVICES}
    }
    assert len(set(secrets.values())) == 1, secrets


@backend_ids
def test_every_backend_uses_its_own_postgres_database(
    service: Service, compose: dict[str, Any], init_databases: set[str]
) -> None:
    env = _env(compose["services"][service.name])
    url = env.get(f"CLIENTPULSE_{service.prefix}_DATABASE_URL")
    assert url, f"{service.name} has no CLIENTPULSE_{service.prefix}_DATABASE_URL"
    parts = urlsplit(url)
    assert parts.scheme == "postgresql+asyncpg"
    assert (parts.hostname, parts.port or 5432) == ("postgres", 5432)
    database = parts.path.lstrip("/")
    assert database == service.database
    assert database in init_databases, f"{database} is not created by {POSTGRES_INIT.name}"


def test_gateway_has_no_database_and_knows_every_upstream(compose: dict[str, Any]) -> None:
    env = _env(compose["services"]["gateway"])
    assert not any(key.endswith("_DATABASE_URL") for key in env)
    upstreams = {
        "CLIENTPULSE_GATEWAY_CLIENTS_URL": "clients",
        "CLIENTPULSE_GATEWAY_TIERING_URL": "tiering",
        "CLIENTPULSE_GATEWAY_RESULTS_URL": "results-ingest",
        "CLIENTPULSE_GATEWAY_INSIGHTS_URL": "insights",
        "CLIENTPULSE_GATEWAY_NOTIFICATIONS_URL": "notifications",
    }
    ports = {service.name: service.port for service in SERVICES}
    for variable, name in upstreams.items():
        url = urlsplit(env.get(variable, ""))
        assert (url.scheme, url.hostname, url.port) == ("http", name, ports[name]), variable
    assert json.loads(env["CLIENTPULSE_GATEWAY_CORS_ORIGINS"])


def test_postgres_runs_the_init_script(compose: dict[str, Any], init_databases: set[str]) -> None:
    postgres = compose["services"]["postgres"]
    mounts = [str(volume) for volume in postgres.get("volumes", [])]
    assert any(
        mount.startswith("./deploy/compose/postgres-init.sql:/docker-entrypoint-initdb.d/") for mount in mounts
    ), mounts
    assert {service.database for service in BACKENDS} <= init_databases
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_nats_runs_jetstream_with_monitoring(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert str(nats["image"]).startswith("nats:")
    command = nats["command"]
    argv = command.split() if isinstance(command, str) else list(command)
    assert "-js" in argv or "--jetstream" in argv
    assert _option(argv, "-m") == "8222" or _option(argv, "--http_port") == "8222"
    assert "8222/healthz" in " ".join(nats["healthcheck"]["test"])


@ids
def test_services_wait_for_healthy_infrastructure_and_run_read_only(service: Service, compose: dict[str, Any]) -> None:
    definition = compose["services"][service.name]
    depends = _depends_on(definition)
    # The console speaks only to the gateway, which itself waits for NATS.
    assert depends.get("gateway" if service.name == "web" else "nats") == "service_healthy"
    if service.database is not None:
        assert depends.get("postgres") == "service_healthy"
    assert definition.get("restart") == "unless-stopped"
    assert definition.get("read_only") is True
    tmpfs = definition.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    assert any(str(entry).split(":", 1)[0] == "/tmp" for entry in tmpfs)


@backend_ids
def test_every_database_is_migrated_by_a_one_shot_container(service: Service, compose: dict[str, Any]) -> None:
    env = _env(compose["services"][service.name])
    migrate_name = f"{service.name}-migrate"
    if env.get("CLIENTPULSE_MIGRATE_ON_START", "true").lower() not in {"false", "0", "no", "off"}:
        return  # the service migrates on start: nothing else to check
    assert _depends_on(compose["services"][service.name]).get(migrate_name) == "service_completed_successfully"
    migrate = compose["services"][migrate_name]
    assert migrate["build"]["target"] == service.name
    assert list(migrate["command"]) == ["migrate"]
    assert (
        _env(migrate)[f"CLIENTPULSE_{service.prefix}_DATABASE_URL"] == env[f"CLIENTPULSE_{service.prefix}_DATABASE_URL"]
    )
    assert _depends_on(migrate).get("postgres") == "service_healthy"


# --------------------------------------------------------------------------------------------
# Ports and the Dockerfile's runtime stages
# --------------------------------------------------------------------------------------------


@ids
def test_service_port_matches_the_dockerfile(
    service: Service, compose: dict[str, Any], stages: dict[str, Stage]
) -> None:
    env = _env(compose["services"][service.name])
    assert env.get(f"CLIENTPULSE_{service.prefix}_PORT") == str(service.port)
    assert env.get(f"CLIENTPULSE_{service.prefix}_HOST") == "0.0.0.0"

    stage = stages[service.name]
    exposed = {int(port.split("/")[0]) for args in stage.all("EXPOSE") for port in args.split()}
    assert exposed == {service.port}

    cmd = _exec_form(stage.last("CMD") or "[]")
    assert cmd[:1] == ["serve"]
    assert _option(cmd, "--port") == str(service.port)
    assert _option(cmd, "--host") == "0.0.0.0"

    healthcheck = stage.last("HEALTHCHECK") or ""
    assert re.search(rf"127\.0\.0\.1:{service.port}/healthz", healthcheck), healthcheck


@ids
def test_runtime_stages_run_as_a_non_root_user(service: Service, stages: dict[str, Stage]) -> None:
    user = stages[service.name].last("USER")
    assert user, f"stage {service.name} sets no USER"
    uid = user.split(":", 1)[0]
    assert uid not in {"0", "root"}


def test_every_stage_with_an_entrypoint_runs_as_non_root(stages: dict[str, Stage]) -> None:
    runtime = [stage for stage in stages.values() if stage.last("ENTRYPOINT")]
    assert {stage.name for stage in runtime} == {service.name for service in SERVICES}
    for stage in runtime:
        assert (stage.last("USER") or "root").split(":", 1)[0] not in {"0", "root"}, stage.name


def test_dockerfile_pins_python_and_uv(stages: dict[str, Stage]) -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"python:3\.\d+-slim", text)
    assert re.search(r"uv==\d+\.\d+\.\d+", text)
    for stage in stages.values():
        for run in stage.all("RUN"):
            if "uv sync" in run:
                assert "--frozen" in run and "--no-dev" in run and "--no-editable" in run, run


@ids
def test_entrypoint_is_the_services_console_script(service: Service, stages: dict[str, Stage]) -> None:
    entrypoint = _exec_form(stages[service.name].last("ENTRYPOINT") or "[]")
    assert entrypoint == [f"clientpulse-{service.name}"]
    build = stages[f"build-{service.name}"]
    assert any(f"--package clientpulse-{service.name}" in run for run in build.all("RUN"))
    assert any(f"--from=build-{service.name}" in copy for copy in stages[service.name].all("COPY"))


def test_entrypoints_are_declared_where_scripts_exist(stages: dict[str, Stage]) -> None:
    checked: list[str] = []
    for service in SERVICES:
        pyproject = tomllib.loads((ROOT / "services" / service.name / "pyproject.toml").read_text())
        scripts = pyproject.get("project", {}).get("scripts")
        if scripts is None:
            continue  # the service declares no console script yet
        script = _exec_form(stages[service.name].last("ENTRYPOINT") or "[]")[0]
        assert script in scripts, f"{script} is not in services/{service.name}/pyproject.toml [project.scripts]"
        checked.append(service.name)
    assert "clients" in checked


# --------------------------------------------------------------------------------------------
# Monitoring profile
# --------------------------------------------------------------------------------------------


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    scraped: set[tuple[str, int]] = set()
    for job in config["scrape_configs"]:
        if job.get("metrics_path", "/metrics") != "/metrics":
            continue
        for sd in job.get("dns_sd_configs", []):
            scraped.update((name, int(sd["port"])) for name in sd["names"])
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                scraped.add((host, int(port)))
    assert {(service.name, service.port) for service in SERVICES} <= scraped


def test_grafana_is_provisioned(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana.get("profiles") == ["monitoring"]
    mounts = [str(volume) for volume in grafana.get("volumes", [])]
    assert "./deploy/grafana:/var/lib/grafana/dashboards:ro" in mounts
    datasource = yaml.safe_load((ROOT / "deploy/compose/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((ROOT / "deploy/compose/grafana/provisioning/dashboards/clientpulse.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for mount in mounts:
        source = mount.split(":", 1)[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"grafana mounts missing {source}"


def test_prometheus_evaluates_the_alert_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert prometheus.get("profiles") == ["monitoring"]
    mounts = {}
    for volume in prometheus.get("volumes", []):
        source, _, rest = str(volume).partition(":")
        mounts[source] = rest.split(":", 1)[0]
    rules_in_container = mounts.get("./deploy/prometheus/clientpulse-rules.yaml")
    assert rules_in_container, f"the rule file is not mounted: {prometheus.get('volumes')}"
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert rules_in_container in config.get("rule_files", [])
    assert mounts.get("./deploy/compose/prometheus.yml") == _option(list(prometheus["command"]), "--config.file")
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "clientpulse-rules.yaml").read_text())
    assert rules["groups"] and all(group["rules"] for group in rules["groups"])
