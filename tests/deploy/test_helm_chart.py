"""The Helm chart, rendered with the real Helm engine (the ``helm-python-sdk`` wheel embeds Helm's Go
SDK) and every manifest validated against the Kubernetes 1.30 and latest schemas in strict mode.

No cluster is needed: ``Chart.render`` is ``helm template``; ``lookup`` returns nothing offline.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.schedules import load_jobs

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "deploy" / "helm" / "clientpulse"
COMPOSE = ROOT / "docker-compose.yml"
RELEASE = "prod"
NAMESPACE = "clientpulse"
FULLNAME = "prod-clientpulse"
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]
# Custom resources: no schema in kubernetes-validate; the tests below check their shape.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute", "Stream"}


@dataclass(frozen=True)
class Service:
    name: str
    prefix: str
    port: int
    database: str | None


SERVICES = [
    Service("gateway", "GATEWAY", 8000, None),
    Service("clients", "CLIENTS", 8001, "clients"),
    Service("tiering", "TIERING", 8002, "tiering"),
    Service("results-ingest", "RESULTS", 8003, "results"),
    Service("insights", "INSIGHTS", 8004, "insights"),
    Service("notifications", "NOTIFICATIONS", 8005, "notifications"),
    Service("web", "WEB", 8080, None),
]
BACKENDS = [service for service in SERVICES if service.database]
ALL_SERVICES = {service.name: {} for service in SERVICES}

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "cronjobs-off": {"cronJobs": {"enabled": False}},
    "hpa-on": {
        "services": {
            name: {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9}} for name in ALL_SERVICES
        }
    },
    "existing-secrets": {
        "secrets": {"existingSecret": "clientpulse-prod"},
        "services": {"tiering": {"database": {"urlSecret": {"name": "tiering-db", "key": "uri"}}}},
    },
    "clear-database-urls": {
        "services": {
            "clients": {"database": {"url": "postgresql://clientpulse:s3cret@db:5432/clients"}},
            "insights": {"database": {"url": "postgresql+asyncpg://clientpulse:s3cret@db:5432/insights"}},
        },
        "secrets": {"resultsEncryptionKeys": '["k1"]', "llmApiKey": "sk-test"},
        "llm": {"baseUrl": "https://llm.example.com/v1", "model": "kimi-k2.5"},
    },
    "everything-on": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [{"host": "clientpulse.example.com", "paths": ["/"]}],
            "tls": [{"secretName": "clientpulse-tls", "hosts": ["clientpulse.example.com"]}],
        },
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gateways"}]},
        "monitoring": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
            "grafanaDashboard": {"enabled": True},
        },
        "nack": {"enabled": True},
    },
    "development-hs256": {"jwt": {"algorithms": ["HS256"], "jwksUrl": ""}, "networkPolicy": {"enabled": False}},
    "notifications-configured": {
        "notifications": {
            "squadHeads": {"s-1": ["u-head-1"], "s-2": ["u-head-2", "u-head-3"]},
            "heads": ["u-head-1", "u-head-2", "u-head-3"],
            "executives": ["u-exec"],
            "qbrEscalationDays": 21,
            "webhooks": {
                "requireHttps": False,
                "allowedNetworks": ["10.0.0.0/8"],
                "timeoutSeconds": 2.5,
                "maxAttempts": 3,
                "retryDelaysSeconds": [5, 60],
                "disableAfter": 4,
            },
            "email": {
                "smtpHost": "smtp.agency.example",
                "smtpPort": 587,
                "from": "clientpulse@agency.example",
                "addresses": {"u-42": "dana@agency.example"},
            },
        },
        "secrets": {"notificationsWebhookSecretsKey": "a-webhook-secrets-key-of-some-length"},
    },
}


# What every install must give the chart-made Secret (the chart generates no encryption key).
REQUIRED_SECRETS = {
    "resultsEncryptionKeys": '["cmVzdWx0cy1lbmNyeXB0aW9uLWtleS1mb3ItdGVzdHM="]',
    "notificationsWebhookSecretsKey": "a-webhook-secrets-key-for-the-chart-tests",
}


def with_required_secrets(values: dict[str, Any] | None) -> dict[str, Any]:
    """``values`` with the required secrets added where they give none (and no existing Secret)."""
    values = dict(values or {})
    given = dict(values.get("secrets") or {})
    if not given.get("existingSecret"):
        values["secrets"] = {**REQUIRED_SECRETS, **given}
    return values


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


_rendered: dict[str, dict[str, str]] = {}


def render_files(chart: helm.Chart, values: dict[str, Any] | None = None) -> dict[str, str]:
    """``helm template`` output per template file; cached, since many tests share a variant."""
    key = json.dumps(values or {}, sort_keys=True)
    if key not in _rendered:
        _rendered[key] = chart.render(with_required_secrets(values), name=RELEASE, namespace=NAMESPACE, is_install=True)
    return _rendered[key]


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every manifest the chart renders for these values (hooks included), as dicts."""
    manifests: list[dict[str, Any]] = []
    for path, text in sorted(render_files(chart, values).items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def secret_refs(workload: dict[str, Any]) -> set[str]:
    return {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for container in containers(workload)
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


# --------------------------------------------------------------------------------------------
# Lint and Kubernetes schemas, for every variant
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_chart_lints_clean_in_strict_mode(variant: str) -> None:
    report = helm.lint(
        CHART_DIR, with_required_secrets(VARIANTS[variant]), strict=True, kube_version="v1.30.0", namespace=NAMESPACE
    )
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_manifest_is_valid_kubernetes(chart: helm.Chart, variant: str) -> None:
    manifests = render(chart, VARIANTS[variant])
    assert manifests
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(part) for part in error.path)
                pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']} on {version}: {where}: {error.message}")
        assert len(manifest["metadata"]["name"]) <= 63, manifest["metadata"]["name"]
    names = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(names) == len(set(names)), "two manifests of the same kind share a name"


def test_custom_resources_have_their_required_shape(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["everything-on"])
    monitor = of_kind(manifests, "ServiceMonitor")[FULLNAME]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s", "honorLabels": True}
    ]
    rule = of_kind(manifests, "PrometheusRule")[FULLNAME]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    for group in rule["spec"]["groups"]:
        for entry in group["rules"]:
            assert set(entry) <= {"alert", "expr", "for", "labels", "annotations"}, entry
            assert entry["alert"] and entry["expr"] and entry["labels"]["severity"] in {"warning", "critical"}
    route = of_kind(manifests, "HTTPRoute")[f"{FULLNAME}-gateway"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways"}]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": f"{FULLNAME}-gateway", "port": 8000}]
    streams = of_kind(manifests, "Stream")
    assert {s["spec"]["name"]: s["spec"]["subjects"] for s in streams.values()} == {
        "BILLING": ["billing.>"],
        "CRM": ["crm.>"],
        "CLIENTS": ["clients.>"],
        "TIERING": ["tiering.>"],
        "RESULTS": ["results.>"],
        "INSIGHTS": ["insights.>"],
    }


# --------------------------------------------------------------------------------------------
# Deployments and Services
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_service_has_probes_limits_and_a_locked_down_pod(chart: helm.Chart, service: Service) -> None:
    manifests = render(chart)
    deployment = of_kind(manifests, "Deployment")[f"{FULLNAME}-{service.name}"]
    pod = pod_spec(deployment)
    (container,) = containers(deployment)

    assert container["image"] == f"ghcr.io/clientpulse/{service.name}:0.1.0"
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", str(service.port)]
    assert container["ports"] == [{"name": "http", "containerPort": service.port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}, bound

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False

    # Drain, one step after another: the preStop pause, uvicorn's 20 s for requests, the broker's 15 s.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + 20 + 15

    env = env_of(container)
    assert env[f"CLIENTPULSE_{service.prefix}_PORT"]["value"] == str(service.port)
    assert env[f"CLIENTPULSE_{service.prefix}_HOST"]["value"] == "0.0.0.0"
    assert env[f"CLIENTPULSE_{service.prefix}_STREAM_REPLICAS"]["value"] == "3"
    assert env["CLIENTPULSE_IDENTITY_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == f"{FULLNAME}-secrets"
    if service.database:
        url = env[f"CLIENTPULSE_{service.prefix}_DATABASE_URL"]["value"]
        assert url.endswith(f"@clientpulse-db-rw:5432/{service.database}")
        # Kubernetes expands $(VAR) only from variables defined earlier in the list.
        names = [entry["name"] for entry in container["env"]]
        assert names.index("CLIENTPULSE_DB_PASSWORD") < names.index(f"CLIENTPULSE_{service.prefix}_DATABASE_URL")
    else:
        assert not any(name.endswith("_DATABASE_URL") for name in env)

    svc = of_kind(manifests, "Service")[f"{FULLNAME}-{service.name}"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}]
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def test_each_service_selects_only_its_own_deployments_pods(chart: helm.Chart) -> None:
    """A Job or CronJob pod must never become a Service endpoint or count in a disruption budget."""
    manifests = render(chart, VARIANTS["hpa-on"])
    workloads = [m for m in manifests if m["kind"] in {"Deployment", "Job", "CronJob"}]
    selectors = [(m["kind"], m["metadata"]["name"], m["spec"]["selector"]) for m in manifests if m["kind"] == "Service"]
    selectors += [
        (m["kind"], m["metadata"]["name"], m["spec"]["selector"]["matchLabels"])
        for m in manifests
        if m["kind"] == "PodDisruptionBudget"
    ]
    for kind, name, selector in selectors:
        matched = [(w["kind"], w["metadata"]["name"]) for w in workloads if selector.items() <= _pod_labels(w).items()]
        assert matched == [("Deployment", name)], f"{kind} {name} selects {matched}"


def test_grace_period_shorter_than_the_drain_is_refused(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match="must exceed preStopSleepSeconds"):
        render(chart, {"terminationGracePeriodSeconds": 40, "preStopSleepSeconds": 5})
    render(chart, {"terminationGracePeriodSeconds": 41, "preStopSleepSeconds": 5})


def test_only_the_gateway_is_routed_from_outside(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["everything-on"])
    (ingress,) = of_kind(manifests, "Ingress").values()
    backends = {
        path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    }
    assert backends == {f"{FULLNAME}-gateway"}
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert all(s["spec"]["type"] == "ClusterIP" for s in of_kind(manifests, "Service").values())


def test_config_points_the_gateway_at_every_service_and_disables_migrate_on_start(chart: helm.Chart) -> None:
    config = of_kind(render(chart), "ConfigMap")[f"{FULLNAME}-config"]["data"]
    assert config["CLIENTPULSE_MIGRATE_ON_START"] == "false"
    assert config["CLIENTPULSE_NATS_URL"] == "nats://nats:4222"
    upstream = {"clients": "CLIENTS", "tiering": "TIERING", "results-ingest": "RESULTS"}
    upstream |= {"insights": "INSIGHTS", "notifications": "NOTIFICATIONS"}
    for service in BACKENDS:
        key = f"CLIENTPULSE_GATEWAY_{upstream[service.name]}_URL"
        assert config[key] == f"http://{FULLNAME}-{service.name}:{service.port}"
    assert json.loads(config["CLIENTPULSE_JWT_ALGORITHMS"]) == ["RS256"]
    assert config["CLIENTPULSE_JWT_JWKS_URL"].startswith("https://")


def test_gateway_replicas_share_the_rate_limit_as_the_chart_configures_it(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clientpulse.gateway.settings import GatewaySettings

    config = of_kind(render(chart), "ConfigMap")[f"{FULLNAME}-config"]["data"]
    for name, value in config.items():
        if name.startswith("CLIENTPULSE_GATEWAY_RATE_LIMIT"):
            monkeypatch.setenv(name, value)
    settings = GatewaySettings()
    assert settings.rate_limit_shared is True
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (600, 120)
    assert (settings.rate_limit_shared_lease, settings.rate_limit_shared_timeout) == (4, 0.1)


def test_hpa_on_takes_over_the_replica_count(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["hpa-on"])
    hpas = of_kind(manifests, "HorizontalPodAutoscaler")
    deployments = of_kind(manifests, "Deployment")
    assert set(hpas) == set(deployments) == {f"{FULLNAME}-{s.name}" for s in SERVICES}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
        assert "replicas" not in deployments[name]["spec"], f"{name}: a fixed replica count fights the HPA"
    assert of_kind(render(chart), "HorizontalPodAutoscaler") == {}


def test_the_console_signs_in_at_the_configured_provider_and_calls_the_gateway(chart: helm.Chart) -> None:
    values = {
        "web": {"publicUrl": "https://console.example.com", "oidc": {"issuer": "https://id.example.com"}},
        "secrets": {"webOidcClientSecret": "an-oidc-client-secret"},
    }
    manifests = render(chart, values)
    config = of_kind(manifests, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    assert config["CLIENTPULSE_WEB_GATEWAY_URL"] == f"http://{FULLNAME}-gateway:8000"
    assert config["CLIENTPULSE_WEB_OIDC_ISSUER"] == "https://id.example.com"
    assert config["CLIENTPULSE_WEB_PUBLIC_URL"] == "https://console.example.com"
    assert config["CLIENTPULSE_WEB_SECURE_COOKIES"] == "true"
    web = env_of(containers(of_kind(manifests, "Deployment")[f"{FULLNAME}-web"])[0])
    assert web["CLIENTPULSE_WEB_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "web-session-secret"
    assert web["CLIENTPULSE_WEB_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "web-oidc-client-secret"
    assert "CLIENTPULSE_WEB_DEV_SIGN_IN" not in web and "CLIENTPULSE_WEB_DEV_SIGN_IN" not in config
    assert "an-oidc-client-secret" not in json.dumps([m for m in manifests if m["kind"] != "Secret"])
    assert of_kind(manifests, "Service")[f"{FULLNAME}-web"]["spec"]["ports"][0]["port"] == 8080


def test_hpa_with_min_above_max_is_refused(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match="minReplicas is above maxReplicas"):
        render(chart, {"services": {"clients": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}})


def test_every_service_has_a_disruption_budget(chart: helm.Chart) -> None:
    manifests = render(chart)
    budgets = of_kind(manifests, "PodDisruptionBudget")
    deployments = of_kind(manifests, "Deployment")
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        assert budget["spec"]["selector"] == deployments[name]["spec"]["selector"]
        assert budget["spec"]["maxUnavailable"] == 1


def test_a_disabled_service_renders_nothing(chart: helm.Chart) -> None:
    values = {"services": {"insights": {"enabled": False}}}
    values["cronJobs"] = {"jobs": {"weekly-insights": {"enabled": False}}}
    manifests = render(chart, values)
    assert not [m for m in manifests if m["metadata"]["name"].startswith(f"{FULLNAME}-insights")]


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def test_chart_made_secret_holds_generated_secrets_and_clear_urls(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["clear-database-urls"])
    secret = of_kind(manifests, "Secret")[f"{FULLNAME}-secrets"]
    assert set(secret["data"]) == {
        "identity-secret",
        "clients-database-url",
        "insights-database-url",
        "results-encryption-keys",
        "llm-api-key",
        "notifications-webhook-secrets-key",
        "web-session-secret",
    }
    deployments = of_kind(manifests, "Deployment")
    clients = env_of(containers(deployments[f"{FULLNAME}-clients"])[0])
    assert clients["CLIENTPULSE_CLIENTS_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-secrets",
        "key": "clients-database-url",
    }
    results = env_of(containers(deployments[f"{FULLNAME}-results-ingest"])[0])
    encryption_keys = results["CLIENTPULSE_RESULTS_ENCRYPTION_KEYS"]["valueFrom"]["secretKeyRef"]
    assert encryption_keys == {"name": f"{FULLNAME}-secrets", "key": "results-encryption-keys"}
    insights = env_of(containers(deployments[f"{FULLNAME}-insights"])[0])
    assert insights["CLIENTPULSE_INSIGHTS_LLM_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "llm-api-key"
    config = of_kind(manifests, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    assert config["CLIENTPULSE_INSIGHTS_LLM_BASE_URL"] == "https://llm.example.com/v1"
    # A clear URL never lands in a pod spec or the ConfigMap.
    assert "s3cret" not in json.dumps([m for m in manifests if m["kind"] != "Secret"])


def test_existing_secret_replaces_the_chart_made_one(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["existing-secrets"])
    assert of_kind(manifests, "Secret") == {}
    workloads = [m for m in manifests if m["kind"] in {"Deployment", "CronJob", "Job"}]
    for workload in workloads:
        assert f"{FULLNAME}-secrets" not in secret_refs(workload), workload["metadata"]["name"]
    deployments = of_kind(manifests, "Deployment")
    clients = env_of(containers(deployments[f"{FULLNAME}-clients"])[0])
    assert clients["CLIENTPULSE_CLIENTS_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "clientpulse-prod",
        "key": "clients-database-url",
    }
    tiering = env_of(containers(deployments[f"{FULLNAME}-tiering"])[0])
    tiering_url = tiering["CLIENTPULSE_TIERING_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert tiering_url == {"name": "tiering-db", "key": "uri"}
    pod_annotations = deployments[f"{FULLNAME}-clients"]["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" not in pod_annotations


def test_hs256_gets_a_jwt_secret_and_asymmetric_needs_a_jwks_url(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["development-hs256"])
    assert "jwt-secret" in of_kind(manifests, "Secret")[f"{FULLNAME}-secrets"]["data"]
    gateway = env_of(containers(of_kind(manifests, "Deployment")[f"{FULLNAME}-gateway"])[0])
    assert gateway["CLIENTPULSE_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "jwt-secret"
    assert "CLIENTPULSE_JWT_JWKS_URL" not in of_kind(manifests, "ConfigMap")[f"{FULLNAME}-config"]["data"]

    default_gateway = env_of(containers(of_kind(render(chart), "Deployment")[f"{FULLNAME}-gateway"])[0])
    assert "CLIENTPULSE_JWT_SECRET" not in default_gateway
    with pytest.raises(helm.HelmRenderError, match="jwksUrl is required"):
        render(chart, {"jwt": {"jwksUrl": ""}})
    with pytest.raises(helm.HelmRenderError, match="not both"):
        render(chart, {"jwt": {"algorithms": ["HS256", "RS256"]}})


# --------------------------------------------------------------------------------------------
# Migrations hook
# --------------------------------------------------------------------------------------------


def test_migrations_run_as_pre_install_and_pre_upgrade_hooks(chart: helm.Chart) -> None:
    manifests = render(chart, VARIANTS["clear-database-urls"])
    jobs = of_kind(manifests, "Job")
    assert set(jobs) == {f"{FULLNAME}-{s.name}-migrate" for s in BACKENDS}
    hook_secret = of_kind(manifests, "Secret")[f"{FULLNAME}-migrations"]
    assert set(hook_secret["data"]) == {"clients-database-url", "insights-database-url"}
    secret_weight = int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    for service in BACKENDS:
        job = jobs[f"{FULLNAME}-{service.name}-migrate"]
        annotations = job["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert int(annotations["helm.sh/hook-weight"]) > secret_weight
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        (container,) = containers(job)
        assert container["image"] == f"ghcr.io/clientpulse/{service.name}:0.1.0"
        assert container["args"] == ["migrate"]
        assert f"CLIENTPULSE_{service.prefix}_DATABASE_URL" in env_of(container)
        # Hooks run before the release's ConfigMap, Secret and ServiceAccount exist.
        assert "envFrom" not in container
        assert f"{FULLNAME}-secrets" not in secret_refs(job)
        assert "serviceAccountName" not in pod_spec(job)
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    clients_url = env_of(containers(jobs[f"{FULLNAME}-clients-migrate"])[0])["CLIENTPULSE_CLIENTS_DATABASE_URL"]
    assert clients_url["valueFrom"]["secretKeyRef"]["name"] == f"{FULLNAME}-migrations"


def test_no_hook_secret_when_no_clear_urls(chart: helm.Chart) -> None:
    assert f"{FULLNAME}-migrations" not in of_kind(render(chart), "Secret")


# --------------------------------------------------------------------------------------------
# CronJobs
# --------------------------------------------------------------------------------------------

EXPECTED_CRONJOBS = {
    "tier-recalculation": ("tiering", "0 2 1 * *", ["recalculate", "--period", "previous"]),
    "platform-sync": ("results-ingest", None, ["sync"]),
    "qbr-overdue-check": ("clients", None, ["check-qbrs"]),
    "notification-escalation": ("notifications", None, ["escalate"]),
    "weekly-insights": ("insights", None, ["analyze-week"]),
}


def test_monthly_recalculation_is_scheduled_once_per_month_in_utc(chart: helm.Chart) -> None:
    cronjob = of_kind(render(chart), "CronJob")[f"{FULLNAME}-tier-recalculation"]
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 2 1 * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    (container,) = containers(cronjob)
    assert container["image"] == "ghcr.io/clientpulse/tiering:0.1.0"
    assert container["args"] == ["recalculate", "--period", "previous"]


@pytest.mark.parametrize("name", EXPECTED_CRONJOBS)
def test_every_cronjob_runs_its_services_command_with_its_environment(chart: helm.Chart, name: str) -> None:
    service_name, schedule, args = EXPECTED_CRONJOBS[name]
    service = next(s for s in SERVICES if s.name == service_name)
    manifests = render(chart)
    cronjob = of_kind(manifests, "CronJob")[f"{FULLNAME}-{name}"]
    spec = cronjob["spec"]
    if schedule:
        assert spec["schedule"] == schedule
    fields = spec["schedule"].split()
    assert len(fields) == 5
    if name == "weekly-insights":
        assert fields[2:] == ["*", "*", fields[4]] and fields[4] != "*", "weekly: one day of the week"
    elif name != "tier-recalculation":
        assert fields[2:] == ["*", "*", "*"], "daily"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 1 and job["activeDeadlineSeconds"] > 0
    assert pod_spec(cronjob)["restartPolicy"] == "Never"
    (container,) = containers(cronjob)
    assert container["image"] == f"ghcr.io/clientpulse/{service_name}:0.1.0"
    assert container["args"] == args
    assert container["envFrom"] == [{"configMapRef": {"name": f"{FULLNAME}-config"}}]
    assert f"CLIENTPULSE_{service.prefix}_DATABASE_URL" in env_of(container)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    # The CronJob's pods run what the service's Deployment runs, with the same environment.
    deployment = of_kind(manifests, "Deployment")[f"{FULLNAME}-{service_name}"]
    assert container["env"] == containers(deployment)[0]["env"]


def test_the_cronjobs_are_the_schedules_table_make_run_reads(chart: helm.Chart) -> None:
    """One table: every job ``make run``'s scheduler runs is a CronJob with the same schedule and command."""
    cronjobs = of_kind(render(chart), "CronJob")
    jobs = load_jobs()
    assert set(cronjobs) == {f"{FULLNAME}-{job.name}" for job in jobs}
    for job in jobs:
        spec = cronjobs[f"{FULLNAME}-{job.name}"]["spec"]
        assert spec["schedule"] == job.schedule
        assert spec["timeZone"] == job.zone.key
        assert spec["concurrencyPolicy"] == job.concurrency_policy
        assert spec["startingDeadlineSeconds"] == job.starting_deadline_seconds
        (container,) = containers(cronjobs[f"{FULLNAME}-{job.name}"])
        assert container["image"] == f"ghcr.io/clientpulse/{job.service}:0.1.0"
        assert container["args"] == list(job.args)


def test_values_override_one_job_of_the_table_or_every_job(chart: helm.Chart) -> None:
    values = {
        "cronJobs": {
            "concurrencyPolicy": "Replace",
            "jobs": {
                "platform-sync": {"schedule": "15 1 * * *", "timeZone": "Europe/Berlin", "backoffLimit": 6},
                "qbr-overdue-check": {"enabled": False},
            },
        }
    }
    cronjobs = of_kind(render(chart, values), "CronJob")
    assert f"{FULLNAME}-qbr-overdue-check" not in cronjobs
    sync = cronjobs[f"{FULLNAME}-platform-sync"]["spec"]
    assert (sync["schedule"], sync["timeZone"]) == ("15 1 * * *", "Europe/Berlin")
    assert sync["jobTemplate"]["spec"]["backoffLimit"] == 6
    assert {c["spec"]["concurrencyPolicy"] for c in cronjobs.values()} == {"Replace"}
    recalculation = cronjobs[f"{FULLNAME}-tier-recalculation"]["spec"]
    assert recalculation["schedule"] == "0 2 1 * *" and recalculation["startingDeadlineSeconds"] == 43200


def test_a_job_the_table_does_not_have_is_refused(chart: helm.Chart) -> None:
    with pytest.raises(
        helm.HelmRenderError, match=r"cronJobs\.jobs\.nightly-report is not a job of files/schedules\.yaml"
    ):
        render(chart, {"cronJobs": {"jobs": {"nightly-report": {"schedule": "0 1 * * *", "args": ["report"]}}}})


def test_cronjobs_off_renders_none(chart: helm.Chart) -> None:
    assert of_kind(render(chart, VARIANTS["cronjobs-off"]), "CronJob") == {}


def test_a_cronjob_for_a_disabled_service_is_refused(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match="which is disabled"):
        render(chart, {"services": {"tiering": {"enabled": False}}})


# --------------------------------------------------------------------------------------------
# NetworkPolicies
# --------------------------------------------------------------------------------------------


def test_only_the_gateway_and_named_callers_reach_the_services_http_ports(chart: helm.Chart) -> None:
    manifests = render(chart)
    policies = of_kind(manifests, "NetworkPolicy")
    deny = policies[f"{FULLNAME}-default-deny-ingress"]
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    assert deny["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "clientpulse",
        "app.kubernetes.io/instance": RELEASE,
    }
    gateway_pods = {"app.kubernetes.io/name": "clientpulse", "app.kubernetes.io/instance": RELEASE}
    gateway_pods["app.kubernetes.io/component"] = "gateway"
    prometheus = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    # Besides the gateway, insights reads results-ingest's campaign table for its weekly analysis.
    callers = {"results-ingest": ["insights"]}
    for service in BACKENDS:
        policy = policies[f"{FULLNAME}-{service.name}"]
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == service.name
        sources = [(rule["from"], rule["ports"]) for rule in policy["spec"]["ingress"]]
        allowed = [
            {"podSelector": {"matchLabels": {**gateway_pods, "app.kubernetes.io/component": component}}}
            for component in ["gateway", *callers.get(service.name, [])]
        ]
        assert sources == [
            (allowed, [{"port": "http", "protocol": "TCP"}]),
            ([prometheus], [{"port": "http", "protocol": "TCP"}]),
        ]
    gateway = policies[f"{FULLNAME}-gateway"]["spec"]["ingress"]
    assert gateway[0] == {"ports": [{"port": "http", "protocol": "TCP"}]}, "anyone may reach the gateway's port"
    assert of_kind(render(chart, VARIANTS["development-hs256"]), "NetworkPolicy") == {}


# --------------------------------------------------------------------------------------------
# values.schema.json
# --------------------------------------------------------------------------------------------

REJECTED_VALUES = {
    "typo at the top": {"servics": {}},
    "typo in a service": {"services": {"clients": {"replicas": 3}}},
    "unknown service": {"services": {"billing": {"enabled": True}}},
    "typo in a cronjob": {"cronJobs": {"jobs": {"tier-recalculation": {"schedul": "0 2 1 * *"}}}},
    "typo in monitoring": {"monitoring": {"serviceMonitor": {"enable": True}}},
    "replica count as text": {"services": {"clients": {"replicaCount": "three"}}},
    "boolean as text": {"cronJobs": {"enabled": "yes"}},
    "bad concurrency policy": {"cronJobs": {"concurrencyPolicy": "Never"}},
    "cronjob for an unknown service": {
        "cronJobs": {"jobs": {"x": {"enabled": True, "service": "billing", "schedule": "@daily", "args": ["x"]}}}
    },
    "bad schedule": {"cronJobs": {"jobs": {"platform-sync": {"schedule": "daily"}}}},
    "grace period within the drain": {"terminationGracePeriodSeconds": 15},
    "limits without memory": {"services": {"gateway": {"resources": {"limits": {"memory": None}}}}},
    "unknown jwt algorithm": {"jwt": {"algorithms": ["none"]}},
    "nats url without scheme": {"nats": {"url": "nats.example:4222"}},
    "non-postgres database url": {"services": {"clients": {"database": {"url": "mysql://x/clients"}}}},
    "typo in notifications": {"notifications": {"executive": ["u-exec"]}},
    "heads as text": {"notifications": {"heads": "u-head-1"}},
    "squad heads as one id": {"notifications": {"squadHeads": {"s-1": "u-head-1"}}},
    "no webhook retries": {"notifications": {"webhooks": {"retryDelaysSeconds": []}}},
    "smtp port out of range": {"notifications": {"email": {"smtpPort": 70000}}},
    "address that is no address": {"notifications": {"email": {"addresses": {"u-42": "dana"}}}},
}


@pytest.mark.parametrize("case", REJECTED_VALUES)
def test_schema_rejects_typos_and_wrong_types(chart: helm.Chart, case: str) -> None:
    values = REJECTED_VALUES[case]
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(values)
    with pytest.raises(helm.HelmValuesError):
        render(chart, values)


@pytest.mark.parametrize("variant", VARIANTS)
def test_schema_accepts_every_variant(chart: helm.Chart, variant: str) -> None:
    chart.validate_schema(VARIANTS[variant])


def test_schema_is_closed_everywhere() -> None:
    """Every object in the schema that lists properties refuses others (typos fail loudly)."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    open_objects: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, child in node.items():
                walk(child, f"{where}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{where}/{index}")

    walk(schema, "")
    # Environment entries are Kubernetes EnvVar objects, checked by the API server.
    assert [w for w in open_objects if not w.endswith("extraEnv/items")] == []


# --------------------------------------------------------------------------------------------
# Monitoring assets shipped in the chart
# --------------------------------------------------------------------------------------------


def test_dashboard_and_rules_in_the_chart_are_the_shared_files(chart: helm.Chart) -> None:
    chart_dashboard = CHART_DIR / "files" / "dashboards" / "clientpulse-sre.json"
    assert chart_dashboard.read_text() == (ROOT / "deploy" / "grafana" / "clientpulse-sre.json").read_text()
    chart_rules = CHART_DIR / "files" / "alerts.yaml"
    assert chart_rules.read_text() == (ROOT / "deploy" / "prometheus" / "clientpulse-rules.yaml").read_text()

    manifests = render(chart, VARIANTS["everything-on"])
    dashboard = of_kind(manifests, "ConfigMap")[f"{FULLNAME}-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["clientpulse-sre.json"]) == json.loads(chart_dashboard.read_text())
    rule = of_kind(manifests, "PrometheusRule")[FULLNAME]
    assert rule["spec"] == yaml.safe_load(chart_rules.read_text())


# --------------------------------------------------------------------------------------------
# notifications' settings
# --------------------------------------------------------------------------------------------


def _notifications_settings(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> NotificationsSettings:
    """NotificationsSettings as the service reads them from this ConfigMap data (and nothing else)."""
    for name in list(os.environ):
        if name.startswith("CLIENTPULSE_"):
            monkeypatch.delenv(name)
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    return NotificationsSettings()


def test_notifications_settings_default_to_the_services_own(chart: helm.Chart, monkeypatch: pytest.MonkeyPatch) -> None:
    config = of_kind(render(chart), "ConfigMap")[f"{FULLNAME}-config"]["data"]
    own = {name for name in config if name.startswith("CLIENTPULSE_NOTIFICATIONS_")}
    fields = {f"CLIENTPULSE_NOTIFICATIONS_{name.upper()}" for name in NotificationsSettings.model_fields}
    assert own and own <= fields, f"not settings of the service: {sorted(own - fields)}"
    assert "CLIENTPULSE_NOTIFICATIONS_SMTP_HOST" not in config  # e-mail stays off
    read = _notifications_settings(config, monkeypatch)
    monkeypatch.undo()
    defaults = _notifications_settings({}, monkeypatch)
    carried = {name.removeprefix("CLIENTPULSE_NOTIFICATIONS_").lower() for name in own} | {"smtp_host"}
    assert {field: getattr(read, field) for field in carried} == {field: getattr(defaults, field) for field in carried}


def test_notifications_settings_reach_the_service(chart: helm.Chart, monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = render(chart, VARIANTS["notifications-configured"])
    config = of_kind(manifests, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    settings = _notifications_settings(config, monkeypatch)
    assert settings.squad_heads == {"s-1": ["u-head-1"], "s-2": ["u-head-2", "u-head-3"]}
    assert settings.heads == ["u-head-1", "u-head-2", "u-head-3"]
    assert settings.executives == ["u-exec"]
    assert settings.qbr_escalation_days == 21
    assert (settings.webhook_require_https, settings.webhook_allowed_networks) == (False, ["10.0.0.0/8"])
    assert (settings.webhook_timeout, settings.webhook_max_attempts, settings.webhook_disable_after) == (2.5, 3, 4)
    assert settings.webhook_retry_delays == [5.0, 60.0]
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == (
        "smtp.agency.example",
        587,
        "clientpulse@agency.example",
    )
    assert settings.email_addresses == {"u-42": "dana@agency.example"}

    # The webhook secrets key is a Secret, referenced by the service and its CronJob alike.
    secret = of_kind(manifests, "Secret")[f"{FULLNAME}-secrets"]
    assert "notifications-webhook-secrets-key" in secret["data"]
    assert "a-webhook-secrets-key" not in json.dumps([m for m in manifests if m["kind"] != "Secret"])
    deployment = of_kind(manifests, "Deployment")[f"{FULLNAME}-notifications"]
    cronjob = of_kind(manifests, "CronJob")[f"{FULLNAME}-notification-escalation"]
    for workload in (deployment, cronjob):
        key = env_of(containers(workload)[0])["CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY"]
        assert key["valueFrom"]["secretKeyRef"] == {
            "name": f"{FULLNAME}-secrets",
            "key": "notifications-webhook-secrets-key",
        }
    others = [d for name, d in of_kind(manifests, "Deployment").items() if name != f"{FULLNAME}-notifications"]
    assert all("CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY" not in env_of(containers(d)[0]) for d in others)


def test_notifications_webhook_key_comes_from_an_existing_secret(chart: helm.Chart) -> None:
    deployment = of_kind(render(chart, VARIANTS["existing-secrets"]), "Deployment")[f"{FULLNAME}-notifications"]
    key = env_of(containers(deployment)[0])["CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY"]
    assert key["valueFrom"]["secretKeyRef"]["name"] == "clientpulse-prod"
    assert key["valueFrom"]["secretKeyRef"]["key"] == "notifications-webhook-secrets-key"


@pytest.mark.parametrize("value", sorted(REQUIRED_SECRETS))
def test_a_missing_encryption_key_fails_the_render_naming_it(chart: helm.Chart, value: str) -> None:
    """The chart generates no encryption key (a new one makes stored secrets unreadable): it requires them."""
    secrets = {name: given for name, given in REQUIRED_SECRETS.items() if name != value}
    with pytest.raises(helm.HelmRenderError, match=f"secrets.{value} is required"):
        chart.render({"secrets": {**secrets, value: ""}}, name=RELEASE, namespace=NAMESPACE, is_install=True)


def test_production_runs_outside_the_development_mode(chart: helm.Chart) -> None:
    """The chart turns the development mode off: a service refuses its built-in development secrets."""
    for variant in VARIANTS.values():
        config = of_kind(render(chart, variant), "ConfigMap")[f"{FULLNAME}-config"]["data"]
        assert config["CLIENTPULSE_DEV_MODE"] == "false"


# --------------------------------------------------------------------------------------------
# docker-compose.yml against the chart
# --------------------------------------------------------------------------------------------


def _compose_env(definition: dict[str, Any]) -> dict[str, str]:
    environment = definition.get("environment") or {}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_runs_the_same_services_ports_and_environment_as_the_chart(chart: helm.Chart, service: Service) -> None:
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    manifests = render(chart, VARIANTS["development-hs256"])  # compose runs HS256 (development)
    config = of_kind(manifests, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    deployment = of_kind(manifests, "Deployment")[f"{FULLNAME}-{service.name}"]
    (container,) = containers(deployment)
    chart_env = set(env_of(container)) | set(config)
    compose_env = _compose_env(compose[service.name])

    missing = {name for name in compose_env if name not in chart_env}
    if service.name == "web":
        # compose signs people in with the development sign-in (tokens minted with the JWT secret);
        # the chart only with OIDC, at a provider compose does not run.
        missing -= {"CLIENTPULSE_WEB_DEV_SIGN_IN", "CLIENTPULSE_JWT_SECRET"}
    assert missing == set(), f"{service.name}: set in docker-compose.yml but not by the chart"
    # What the service itself reads must be set by both (the chart's extra keys are shared config).
    own = {name for name in chart_env if name.startswith(f"CLIENTPULSE_{service.prefix}_")}
    own -= {f"CLIENTPULSE_{service.prefix}_STREAM_REPLICAS"}  # single-node NATS in compose: the default 1
    # compose runs the development encryption keys (CLIENTPULSE_DEV_MODE); the LLM is optional.
    own -= {"CLIENTPULSE_RESULTS_ENCRYPTION_KEYS", "CLIENTPULSE_INSIGHTS_LLM_API_KEY"}
    own -= {"CLIENTPULSE_INSIGHTS_LLM_BASE_URL", "CLIENTPULSE_INSIGHTS_LLM_MODEL"}
    # notifications' own settings: compose runs the service's defaults, which are the chart's too
    # (test_notifications_settings_default_to_the_services_own).
    own -= {name for name in own if name.startswith("CLIENTPULSE_NOTIFICATIONS_")} - {
        "CLIENTPULSE_NOTIFICATIONS_HOST",
        "CLIENTPULSE_NOTIFICATIONS_PORT",
        "CLIENTPULSE_NOTIFICATIONS_DATABASE_URL",
    }
    own -= {name for name in own if name.startswith(("CLIENTPULSE_WEB_OIDC_", "CLIENTPULSE_WEB_SECURE_"))}
    assert own <= set(compose_env), f"{service.name}: the chart sets {sorted(own - set(compose_env))}, compose not"

    assert compose_env[f"CLIENTPULSE_{service.prefix}_PORT"] == str(service.port)
    assert container["ports"][0]["containerPort"] == service.port
    assert compose_env["CLIENTPULSE_MIGRATE_ON_START"] == config["CLIENTPULSE_MIGRATE_ON_START"] == "false"
    # compose is a development system; the chart is production.
    assert (compose_env["CLIENTPULSE_DEV_MODE"], config["CLIENTPULSE_DEV_MODE"]) == ("true", "false")
    assert json.loads(compose_env["CLIENTPULSE_JWT_ALGORITHMS"] if service.name == "gateway" else '["HS256"]') == (
        json.loads(config["CLIENTPULSE_JWT_ALGORITHMS"])
    )
    if service.name == "gateway":
        for key, value in compose_env.items():
            match = re.fullmatch(r"CLIENTPULSE_GATEWAY_(\w+)_URL", key)
            if match:
                host, port = value.removeprefix("http://").split(":")
                assert config[key] == f"http://{FULLNAME}-{host}:{port}", key
    # compose's one-shot migrate containers are the chart's hook Jobs.
    if service.database:
        assert compose[f"{service.name}-migrate"]["command"] == ["migrate"]
        assert f"{FULLNAME}-{service.name}-migrate" in of_kind(manifests, "Job")


def test_compose_and_chart_run_the_same_set_of_services(chart: helm.Chart) -> None:
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    built = {name for name, definition in compose.items() if "build" in definition and not name.endswith("-migrate")}
    deployments = {name.removeprefix(f"{FULLNAME}-") for name in of_kind(render(chart), "Deployment")}
    assert built == deployments == {s.name for s in SERVICES}
