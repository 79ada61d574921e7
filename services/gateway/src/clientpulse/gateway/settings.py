"""The gateway's settings (``CLIENTPULSE_GATEWAY_*``; end-user tokens are ``CLIENTPULSE_JWT_*``).

Defaults run the embedded mode: every service on loopback, the gateway on 127.0.0.1:8000.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings, secrets_at_default
from clientpulse.shared.tokens import JwtSettings

MEBIBYTE = 1024 * 1024


class GatewaySettings(ServiceSettings):
    """Where the services live, what the gateway lets through, and how long it waits."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000

    clients_url: str = "http://127.0.0.1:8001"
    tiering_url: str = "http://127.0.0.1:8002"
    results_url: str = "http://127.0.0.1:8003"
    insights_url: str = "http://127.0.0.1:8004"
    notifications_url: str = "http://127.0.0.1:8005"

    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"])
    max_body_bytes: int = Field(default=MEBIBYTE, gt=0)
    rate_limit_per_minute: int = Field(default=600, gt=0)
    rate_limit_burst: int = Field(default=120, gt=0)
    # Count each caller's requests across every replica in a NATS key-value bucket: `burst` requests
    # per window of burst / per_minute minutes (12 s by default). Off in the embedded mode's single
    # gateway; the chart turns it on. See docs/architecture.md, "Rate limits across gateway replicas".
    rate_limit_shared: bool = False
    # Requests a replica reserves from the shared count at once: it may refuse a caller up to
    # (lease - 1) requests per replica early, never late; 1 makes the count exact (a round trip each).
    rate_limit_shared_lease: int = Field(default=4, ge=1)
    # How long a request waits for NATS before it is limited by this replica alone.
    rate_limit_shared_timeout: float = Field(default=0.1, gt=0)
    # After NATS failed to answer, how long this replica limits alone before it asks NATS again.
    rate_limit_shared_retry_seconds: float = Field(default=2.0, gt=0)

    upstream_connect_timeout: float = Field(default=2.0, gt=0)
    # Applies to whole exchanges except the live notification stream, which has no total timeout.
    upstream_timeout: float = Field(default=30.0, gt=0)
    upstream_pool_size: int = Field(default=100, gt=0)
    # Below the 5 s keep-alive of uvicorn and granian, so the gateway drops an idle connection before
    # the service does and never sends a request down a socket that is being closed.
    upstream_keepalive_seconds: float = Field(default=4.0, gt=0)
    readiness_timeout: float = Field(default=1.0, gt=0)

    jwt: JwtSettings = Field(default_factory=JwtSettings)

    @field_validator("clients_url", "tiering_url", "results_url", "insights_url", "notifications_url")
    @classmethod
    def _without_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    def development_defaults(self) -> list[str]:
        """The identity secret, and the JWT secret while tokens are checked with HS256."""
        found = super().development_defaults()
        if "HS256" in self.jwt.algorithms:
            found += secrets_at_default(self.jwt, "CLIENTPULSE_JWT_")
        return found

    def rate_limit_window_seconds(self) -> float:
        """The shared limit's window: the time the token bucket takes to refill a whole burst."""
        return self.rate_limit_burst * 60.0 / self.rate_limit_per_minute

    def upstream_urls(self) -> dict[str, str]:
        """Base URL of each service, keyed by the service names the routing table uses."""
        return {
            "clients": self.clients_url,
            "tiering": self.tiering_url,
            "results": self.results_url,
            "insights": self.insights_url,
            "notifications": self.notifications_url,
        }
