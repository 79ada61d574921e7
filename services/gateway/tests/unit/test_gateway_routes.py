"""The routing table and the rate limiter as plain objects."""

from __future__ import annotations

import pytest

from clientpulse.gateway.ratelimit import TokenBucketLimiter, retry_after_header
from clientpulse.gateway.routes import GATEWAY, ROUTING_TABLE, Access, Route, RoutingTable
from clientpulse.shared.identity import Role


@pytest.mark.parametrize(
    ("path", "service", "access"),
    [
        ("/api/v1/me", GATEWAY, Access.ANY),
        ("/api/v1/me/attention", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/me/notifications", "notifications", Access.ANY),
        ("/api/v1/me/notifications/n-1/read", "notifications", Access.ANY),
        ("/api/v1/me/notifications/read-all", "notifications", Access.ANY),
        ("/api/v1/me/notifications/stream", "notifications", Access.ANY),
        ("/api/v1/webhooks", "notifications", Access.EXECUTIVE),
        ("/api/v1/webhooks/w-1/deliveries", "notifications", Access.EXECUTIVE),
        ("/api/v1/companies", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/companies/import", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/companies/c-1/convert", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/conversion-prompts/p-1/accept", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/history", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/qbrs/q-1", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/notes/n-1", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/tiering", "tiering", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/tiering/override", "tiering", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/connections", "results", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/connections/k-1/test", "results", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/results/metrics", "results", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/results/backfills/b-1", "results", Access.CLIENTS_MODULE),
        ("/api/v1/clients/c-1/insights/ask", "insights", Access.CLIENTS_MODULE),
        ("/api/v1/groups/c-1/portfolio", "tiering", Access.CLIENTS_MODULE),
        ("/api/v1/groups/c-1/members", "clients", Access.CLIENTS_MODULE),
        ("/api/v1/tiering/framework", "tiering", Access.CLIENTS_MODULE),
        ("/api/v1/tiering/recalculations", "tiering", Access.EXECUTIVE),
        ("/api/v1/tiering/recalculations/2026-12", "tiering", Access.EXECUTIVE),
        ("/api/v1/oauth/shopify/callback", "results", Access.PUBLIC),
        # Templates from OpenAPI documents match too: a placeholder is one segment.
        ("/api/v1/clients/{client_id}/tiering/history", "tiering", Access.CLIENTS_MODULE),
    ],
)
def test_each_public_path_goes_to_its_service_with_its_access_rule(path: str, service: str, access: Access) -> None:
    route = ROUTING_TABLE.match(path)
    assert route is not None
    assert (route.service, route.access) == (service, access)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/",
        "/api/v1/unknown",
        "/api/v1/companiesx",
        "/api/v1/groups/c-1",
        "/api/v1/groups/c-1/portfolio/extra",
        "/api/v1/oauth/shopify/callback/extra",
        "/api/v2/clients",
        "/clients",
        "/api/v1/clients/../webhooks",
        "/api/v1/clients/c-1/./tiering",
        "/api/v1/clients/..",
    ],
)
def test_paths_no_route_serves_are_not_matched(path: str) -> None:
    assert ROUTING_TABLE.match(path) is None


def test_only_the_live_notification_stream_has_no_total_timeout() -> None:
    assert [route.pattern for route in ROUTING_TABLE.routes if route.streams] == ["/me/notifications/stream"]


def test_a_route_must_start_with_a_literal_segment() -> None:
    with pytest.raises(ValueError, match="literal segment"):
        RoutingTable([Route("/{client_id}/x", "clients", Access.ANY)])


@pytest.mark.parametrize(
    ("access", "allowed"),
    [
        (Access.ANY, set(Role)),
        (Access.PUBLIC, set(Role)),
        (Access.CLIENTS_MODULE, {Role.EXECUTIVE, Role.HEAD, Role.MANAGER}),
        (Access.EXECUTIVE, {Role.EXECUTIVE}),
    ],
)
def test_access_rules_let_through_exactly_their_roles(access: Access, allowed: set[Role]) -> None:
    assert {role for role in Role if access.allows(role)} == allowed


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_caller_gets_the_burst_then_waits_for_the_refill() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.wait_seconds("u-1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_seconds("u-1") == pytest.approx(1.0)
    assert limiter.wait_seconds("u-2") == 0.0
    clock.now += 1.0
    assert limiter.wait_seconds("u-1") == 0.0
    assert limiter.wait_seconds("u-1") == pytest.approx(1.0)


def test_idle_callers_are_forgotten_when_the_table_is_full() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=2, max_callers=2, clock=clock)
    limiter.wait_seconds("u-1")
    limiter.wait_seconds("u-1")
    clock.now += 10.0
    limiter.wait_seconds("u-2")
    limiter.wait_seconds("u-3")
    assert len(limiter) == 2
    assert limiter.wait_seconds("u-1") == 0.0


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header
