"""The one middleware behind every app's server span and ``clientpulse_http_*`` metrics."""

from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry import trace
from prometheus_client import REGISTRY

from clientpulse.shared.http_telemetry import OPS_PATHS, request_telemetry

APP = "clientpulse_telemetry_test"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@get("/things/{thing_id:int}")
async def thing(thing_id: FromPath[int]) -> dict[str, str]:
    context = trace.get_current_span().get_span_context()
    return {"trace_id": f"{context.trace_id:032x}"}


@get("/broken")
async def broken() -> None:
    raise RuntimeError("the handler failed")


@get(["/healthz", "/static/app.css"])
async def unobserved() -> str:
    return "ok"


def _client() -> TestClient[Litestar]:
    app = Litestar([thing, broken, unobserved], middleware=[request_telemetry(APP, exclude=[*OPS_PATHS, "/static/"])])
    return TestClient(app, raise_server_exceptions=False)


def _sample(name: str, path: str, status: int, method: str = "GET") -> float:
    labels = {"method": method, "path": path, "status_code": str(status), "app_name": APP}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_and_timed_by_route_template() -> None:
    before = _sample("clientpulse_http_requests_total", "/things/{thing_id}", 200)
    with _client() as client:
        for thing_id in (1, 2, 3):
            assert client.get(f"/things/{thing_id}").status_code == 200
    assert _sample("clientpulse_http_requests_total", "/things/{thing_id}", 200) == before + 3
    assert _sample("clientpulse_http_request_duration_seconds_count", "/things/{thing_id}", 200) >= 3
    assert _sample("clientpulse_http_requests_total", "/things/1", 200) == 0
    assert _sample("clientpulse_http_requests_in_progress", "/things/{thing_id}", 200) == 0


def test_a_server_error_is_counted_as_one() -> None:
    before = _sample("clientpulse_http_requests_error_total", "/broken", 500)
    with _client() as client:
        assert client.get("/broken").status_code == 500
    assert _sample("clientpulse_http_requests_error_total", "/broken", 500) == before + 1
    assert _sample("clientpulse_http_requests_total", "/broken", 500) >= 1


def test_probes_and_excluded_prefixes_are_not_observed() -> None:
    with _client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/app.css").status_code == 200
    assert _sample("clientpulse_http_requests_total", "/healthz", 200) == 0
    assert _sample("clientpulse_http_requests_total", "/static/app.css", 200) == 0


def test_the_handler_runs_in_the_callers_trace() -> None:
    traceparent = f"00-{TRACE_ID}-b7ad6b7169203331-01"
    with _client() as client:
        assert client.get("/things/1", headers={"traceparent": traceparent}).json() == {"trace_id": TRACE_ID}
        assert client.get("/things/1").json()["trace_id"] != TRACE_ID
