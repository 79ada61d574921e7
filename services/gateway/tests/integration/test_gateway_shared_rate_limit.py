"""The per-caller rate limit shared by gateway replicas through a real NATS, and its fallback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.parser import text_string_to_metric_families

from clientpulse.shared.embedded import NatsServerProcess

Auth = Callable[..., dict[str, str]]
StartGateway = Callable[..., httpx.Client]

# 10 requests per 600 s window (burst 10 at 1 a minute), so a test never sees the count refill.
LIMIT = {"rate_limit_burst": 10, "rate_limit_per_minute": 1}
WINDOW_SECONDS = 600


def away_from_a_window_edge() -> None:
    """Windows are aligned to the clock; a test that crossed an edge would see a fresh count."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 30:
        time.sleep(left + 0.5)


def statuses_split_across(replicas: list[httpx.Client], headers: dict[str, str], count: int) -> list[int]:
    return [replicas[i % len(replicas)].get("/api/v1/clients", headers=headers).status_code for i in range(count)]


def fallbacks(gateway: httpx.Client) -> float:
    for family in text_string_to_metric_families(gateway.get("/metrics").text):
        if family.name == "clientpulse_gateway_rate_limit_fallback":
            return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    raise AssertionError("the gateway does not export clientpulse_gateway_rate_limit_fallback_total")


def test_replicas_without_a_shared_count_allow_a_caller_the_limit_each(start_gateway: StartGateway, auth: Auth) -> None:
    replicas = [start_gateway(**LIMIT), start_gateway(**LIMIT)]
    away_from_a_window_edge()
    statuses = statuses_split_across(replicas, auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}"), 24)
    assert statuses.count(200) == 20


def test_two_replicas_sharing_the_count_allow_a_caller_the_limit_once(
    start_gateway: StartGateway, auth: Auth, nats_url: str
) -> None:
    shared = LIMIT | {"rate_limit_shared": True, "nats_url": nats_url, "rate_limit_shared_lease": 1}
    replicas = [start_gateway(**shared), start_gateway(**shared)]
    away_from_a_window_edge()
    before = fallbacks(replicas[0])
    caller = auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}")
    statuses = statuses_split_across(replicas, caller, 24)
    assert statuses == [200] * 10 + [429] * 14
    refused = replicas[0].get("/api/v1/clients", headers=caller)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_SECONDS
    another = auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}")
    assert replicas[1].get("/api/v1/clients", headers=another).status_code == 200
    assert fallbacks(replicas[0]) == before


def test_concurrent_requests_through_both_replicas_are_counted_once_each(
    start_gateway: StartGateway, auth: Auth, nats_url: str
) -> None:
    shared = LIMIT | {"rate_limit_shared": True, "nats_url": nats_url, "rate_limit_shared_lease": 1}
    replicas = [start_gateway(**shared), start_gateway(**shared)]
    away_from_a_window_edge()
    caller = auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda i: statuses_split_across(replicas[i % 2 :] + replicas[: i % 2], caller, 4), range(8))
        )
    flat = [status for per_thread in statuses for status in per_thread]
    assert flat.count(200) == 10
    assert flat.count(429) == 22


def test_leased_requests_never_let_a_caller_past_the_limit(
    start_gateway: StartGateway, auth: Auth, nats_url: str
) -> None:
    shared = LIMIT | {"rate_limit_shared": True, "nats_url": nats_url, "rate_limit_shared_lease": 4}
    replicas = [start_gateway(**shared), start_gateway(**shared)]
    away_from_a_window_edge()
    before = fallbacks(replicas[0])
    statuses = statuses_split_across(replicas, auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}"), 24)
    # Each replica may hold up to lease - 1 = 3 reserved, unspent requests: refused early, never late.
    assert 10 - 2 * 3 <= statuses.count(200) <= 10
    assert statuses.count(200) + statuses.count(429) == 24
    assert fallbacks(replicas[0]) == before


def test_without_nats_each_replica_limits_alone_and_counts_the_fallback(
    start_gateway: StartGateway, auth: Auth, nats_process: NatsServerProcess
) -> None:
    shared = LIMIT | {
        "rate_limit_shared": True,
        "nats_url": nats_process.url,
        "rate_limit_shared_lease": 1,
        "rate_limit_shared_timeout": 0.2,
        "rate_limit_shared_retry_seconds": 0.5,
    }
    replicas = [start_gateway(**shared), start_gateway(**shared)]
    away_from_a_window_edge()
    caller = auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}")
    assert statuses_split_across(replicas, caller, 4) == [200] * 4
    before = fallbacks(replicas[0])

    nats_process.stop()
    statuses = statuses_split_across(replicas, caller, 24)
    # Fail open to the per-replica token bucket (10 each), not to 5xx and not to no limit at all.
    assert statuses.count(200) == 20, statuses
    assert set(statuses) == {200, 429}
    assert fallbacks(replicas[0]) - before == 24

    nats_process.start()
    resumed = auth("manager", sub=f"u-{uuid.uuid4().hex[:8]}")
    deadline = time.monotonic() + 15
    while True:
        counted = fallbacks(replicas[0])
        statuses = statuses_split_across(replicas, resumed, 2)
        if fallbacks(replicas[0]) == counted:
            break
        assert time.monotonic() < deadline, "the gateway never went back to the shared count"
        time.sleep(0.3)
    assert statuses == [200, 200]
