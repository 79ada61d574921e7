"""The SRE dashboard and the alert rules name only metrics the services really export.

The static tests check the dashboard's shape and the PromQL name extraction; the e2e test starts the
whole system (every service and the gateway as processes, on PostgreSQL and a NATS of its own),
makes a few requests so the lazily created HTTP metrics exist, scrapes every service's /metrics and
compares.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from clientpulse.shared.devstack import GATEWAY, SERVICES, Stack
from clientpulse.shared.embedded import free_port
from clientpulse.shared.identity import Role
from clientpulse.shared.testing.servers import create_database, drop_database
from clientpulse.shared.tokens import JwtSettings, mint_token

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "clientpulse-sre.json"
RULES = ROOT / "deploy" / "prometheus" / "clientpulse-rules.yaml"

# Series no service exports but the rules may use: Prometheus' own scrape health, and the
# kube-state-metrics series that say whether the CronJobs' pods succeeded (what their work did is
# exported by the services that do it).
PROMETHEUS_SYNTHETIC = {"up"}
KUBE_STATE_METRICS = {"kube_job_status_failed", "kube_cronjob_status_last_successful_time"}

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery windows
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expression) of every query, template variables included."""
    queries: list[tuple[str, str]] = []

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            inner = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
            assert inner, f"variable {variable['name']}: unexpected query {query}"
            queries.append((f"variable {variable['name']}", inner.group(1)))
    return queries


def rule_queries() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


# --------------------------------------------------------------------------------------------
# Static checks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up == 0", {"up"}),
        ('sum by (app_name) (rate(http_requests_total{status_code=~"5.."}[5m]))', {"http_requests_total"}),
        (
            "histogram_quantile(0.95, sum by (service, le) (rate(upstream_seconds_bucket[$__rate_interval])))",
            {"upstream_seconds_bucket"},
        ),
        (
            "a_total / on (job) group_left (instance) b_count > bool 3 and c unless d offset 5m",
            {"a_total", "b_count", "c", "d"},
        ),
        ('x{name="rate(y)"} or vector(1)', {"x"}),
        ("max(m) < on () group_left () (time() - (day_of_month() - 1) * 86400)", {"m"}),
        ("increase(z[$__range]) > 1e3", {"z"}),
    ],
)
def test_metric_names_are_extracted_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def _balanced(expr: str) -> bool:
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr):
        if char in "([{":
            stack.append(char)
        elif char in closing and (not stack or stack.pop() != closing[char]):
            return False
    return not stack


def test_every_query_is_balanced() -> None:
    """No PromQL parser is installed; this catches the commonest slip (a lost bracket) at least."""
    queries = dashboard_queries(json.loads(DASHBOARD.read_text())) + rule_queries()
    assert [title for title, expr in queries if not _balanced(expr)] == []
    assert not _balanced('sum(rate(x{a="b"}[5m])') and _balanced('sum(rate(x{a=")"}[5m]))')


def test_dashboard_is_provisionable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "clientpulse-sre"
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        columns = range(grid["x"], grid["x"] + grid["w"])
        cells = {(x, y) for x in columns for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and metric_names(target["expr"]), panel["title"]


def test_dashboard_covers_the_sre_views(dashboard: dict[str, Any]) -> None:
    used = {name for _title, expr in dashboard_queries(dashboard) for name in metric_names(expr)}
    assert {
        "clientpulse_http_requests_total",  # request rate and 5xx
        "clientpulse_http_request_duration_seconds_bucket",  # latency
        "clientpulse_gateway_upstream_seconds_bucket",
        "clientpulse_events_handled_total",  # throughput per consumer
        "clientpulse_event_handle_seconds_bucket",
        "faststream_received_processed_messages_total",  # redeliveries
        "clientpulse_outbox_pending",  # outbox depth
        "clientpulse_outbox_lag_seconds_bucket",  # event lag
        "clientpulse_dead_letters_total",  # DLQ
        "clientpulse_notifications_created_total",
        "clientpulse_recalculation_runs_total",  # recalculation runs by outcome
        "clientpulse_recalculation_duration_seconds_bucket",
        "clientpulse_recalculation_last_completed_timestamp_seconds",
        "clientpulse_backfills_total",  # backfills, slices, rows
        "clientpulse_backfill_slices_total",
        "clientpulse_results_rows_written_total",
        "clientpulse_connector_requests_total",  # connector health
        "clientpulse_connector_throttled_total",
        "clientpulse_connector_request_seconds_bucket",
        "clientpulse_connections",
        "clientpulse_insights_analyses_total",  # weekly analysis
        "clientpulse_insights_client_analyses_total",
        "clientpulse_llm_requests_total",  # LLM usage
        "clientpulse_llm_fallbacks_total",
        "clientpulse_llm_tokens_total",
        "clientpulse_llm_request_seconds_bucket",
    } <= used


def test_every_alert_has_a_severity_and_a_summary() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"]]
    assert len({rule["alert"] for rule in alerts}) == len(alerts)
    for rule in alerts:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert metric_names(rule["expr"]), rule["alert"]
    named = {rule["alert"] for rule in alerts}
    assert {
        "ClientpulseOutboxBacklogGrowing",
        "ClientpulseDeadLetters",
        "ClientpulseConsumerRedeliveryRate",
        "ClientpulseHttp5xxRate",
        "ClientpulseTierRecalculationFailed",
        "ClientpulseTierRecalculationNotRunThisMonth",
        "ClientpulseRecalculationRunFailed",
        "ClientpulseRecalculationNotCompletedThisMonth",
        "ClientpulseBackfillsFailing",
        "ClientpulseConnectorThrottled",
        "ClientpulseConnectionsUnhealthy",
    } <= named


# --------------------------------------------------------------------------------------------
# Against a scrape of the running system
# --------------------------------------------------------------------------------------------


def _series_names(text: str) -> dict[str, set[str]]:
    """Family name → the series names it exposes (families with no sample yet included)."""
    suffixes = {
        "counter": ["_total", "_created"],
        "histogram": ["_bucket", "_sum", "_count", "_created"],
        "summary": ["", "_sum", "_count", "_created"],
        "gauge": [""],
        "info": ["_info"],
    }
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        names = {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, [""])}
        families[family.name] = names
    return families


# Label values a rule or panel selects exactly, which must be in the scrape as a sample before the
# first event (pre-initialised), so `increase()`/`rate()` see the first one. FastStream's own family
# is created on the first message a consumer handles: its selectors only look for repeated failures.
CREATED_ON_FIRST_EVENT = {"faststream_received_processed_messages_total"}


def exact_selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, {label: value}) of every selector with ``label="value"`` matchers."""
    found = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        exact = {
            label: value
            for label, operator, value in re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"', match.group(2))
            if operator == "=" and "$" not in value
        }
        if exact:
            found.append((match.group(1), exact))
    return found


def test_exact_selectors_are_extracted() -> None:
    expr = 'rate(a_total{outcome="failed", app=~"$app"}[5m]) / b{status!="acked"} + c{platform="meta_ads"}'
    assert exact_selectors(expr) == [("a_total", {"outcome": "failed"}), ("c", {"platform": "meta_ads"})]


@dataclass(frozen=True)
class Scrape:
    """What the running services exposed on /metrics."""

    names: set[str]  # every series name, families with no sample yet included
    samples: list[tuple[str, dict[str, str]]]  # (series name, labels) of every sample


@pytest.fixture(scope="module")
def exported_metrics(scrape: Scrape) -> set[str]:
    """Every series name the running services expose on /metrics."""
    return scrape.names


@pytest.fixture(scope="module")
def scrape(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    """Start the whole system and scrape every service once."""
    databases = {
        spec.name: create_database(postgres_admin_url, prefix=f"metrics_{spec.name.replace('-', '_')}")
        for spec in SERVICES
    }
    jwt = JwtSettings(secret=SecretStr(secrets.token_urlsafe(32)), issuer="clientpulse-metrics")
    stack = Stack(
        var_dir=tmp_path_factory.mktemp("metrics-system"),
        nats_url=None,  # a nats-server of its own: no other test's streams or consumers interfere
        nats_port=free_port(),
        database_urls=databases,
        ports={"sandbox": free_port(), **{spec.name: free_port() for spec in (*SERVICES, GATEWAY)}},
        env={
            "CLIENTPULSE_JWT_SECRET": jwt.secret.get_secret_value() if jwt.secret else "",
            "CLIENTPULSE_JWT_ISSUER": "clientpulse-metrics",
            "CLIENTPULSE_IDENTITY_SECRET": secrets.token_urlsafe(32),
        },
    )
    try:
        stack.start(timeout=120)
        token = mint_token(jwt, sub="u-sre", role=Role.EXECUTIVE)
        # The HTTP metrics are created on the first request a service handles.
        with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
            for path in ["/api/v1/clients", "/api/v1/companies", "/api/v1/me/notifications"]:
                api.get(path)
            api.get("/api/v1/tiering/framework")
        scraped: set[str] = set()
        samples: list[tuple[str, dict[str, str]]] = []
        with httpx.Client(timeout=10) as client:
            for spec in (*SERVICES, GATEWAY):
                response = client.get(f"{stack.service_url(spec.name)}/metrics")
                assert response.status_code == 200, spec.name
                for names in _series_names(response.text).values():
                    scraped |= names
                samples.extend(
                    (sample.name, dict(sample.labels))
                    for family in text_string_to_metric_families(response.text)
                    for sample in family.samples
                )
        yield Scrape(scraped, samples)
    finally:
        stack.stop()
        for url in databases.values():
            drop_database(url)


@pytest.mark.e2e
def test_dashboard_names_only_metrics_the_services_export(
    dashboard: dict[str, Any], exported_metrics: set[str]
) -> None:
    unknown = {
        (title, name)
        for title, expr in dashboard_queries(dashboard)
        for name in metric_names(expr)
        if name not in exported_metrics
    }
    assert unknown == set(), "panels query metrics no service exports"


@pytest.mark.e2e
def test_alerts_name_only_metrics_that_exist(exported_metrics: set[str]) -> None:
    known = exported_metrics | PROMETHEUS_SYNTHETIC | KUBE_STATE_METRICS
    unknown = {(alert, name) for alert, expr in rule_queries() for name in metric_names(expr) if name not in known}
    assert unknown == set(), "alerts query metrics nothing exports"


@pytest.mark.e2e
def test_the_scrape_holds_the_metrics_the_services_promise(exported_metrics: set[str]) -> None:
    """Guards the comparison above: an empty or partial scrape must not pass it vacuously."""
    assert {
        "clientpulse_http_requests_total",
        "clientpulse_http_request_duration_seconds_bucket",
        "clientpulse_outbox_pending",
        "clientpulse_events_handled_total",
        "clientpulse_dead_letters_total",
        "clientpulse_gateway_upstream_seconds_bucket",
        "clientpulse_notifications_created_total",
        "faststream_received_messages_total",
        "clientpulse_recalculation_runs_total",
        "clientpulse_recalculation_last_completed_timestamp_seconds",
        "clientpulse_backfills_total",
        "clientpulse_connector_requests_total",
        "clientpulse_connections",
        "clientpulse_insights_analyses_total",
        "clientpulse_llm_requests_total",
        "clientpulse_llm_fallbacks_total",
    } <= exported_metrics


@pytest.mark.e2e
def test_label_values_the_rules_and_panels_select_are_scraped_before_any_event(
    dashboard: dict[str, Any], scrape: Scrape
) -> None:
    selected = {
        (name, tuple(sorted(labels.items())))
        for _title, expr in dashboard_queries(dashboard) + rule_queries()
        for name, labels in exact_selectors(expr)
        if name not in CREATED_ON_FIRST_EVENT
    }
    assert selected, "no selector names a label value: the check below would pass vacuously"
    missing = {
        (name, labels)
        for name, labels in selected
        if not any(sample == name and dict(labels).items() <= sampled.items() for sample, sampled in scrape.samples)
    }
    assert missing == set(), "pre-initialise these label sets in the service that exports them"
