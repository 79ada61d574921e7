"""Settings of the results-ingest service (``CLIENTPULSE_RESULTS_*``).

Each platform's own settings are a nested model declared by its module and read from
``CLIENTPULSE_RESULTS_PLATFORMS__<PLATFORM>__<FIELD>`` (for example
``CLIENTPULSE_RESULTS_PLATFORMS__META_ADS__APP_SECRET``). With ``SANDBOX_URL`` set (the embedded
default) every platform URL not set explicitly points at the platform sandbox instead.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ExchangeRateSettings, ServiceSettings, secrets_at_default

if TYPE_CHECKING:
    from clientpulse.results_ingest.platforms.spec import PlatformSettings, PlatformSpec

# Embedded mode only: production sets its own keys (a key in the repository protects nothing).
DEV_ENCRYPTION_KEYS = '["Y2xpZW50cHVsc2UtZGV2LWtleS1ub3QtZm9yLXByb2Q="]'
SANDBOX = "http://127.0.0.1:4260"

S = TypeVar("S", bound="PlatformSettings")


class ResultsSettings(ServiceSettings, ExchangeRateSettings):
    """The results-ingest service's settings; defaults run the embedded mode against the sandbox."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_RESULTS_", env_nested_delimiter="__", extra="ignore")

    service_name: str = "results-ingest"
    port: int = 8003
    encryption_keys: SecretStr = SecretStr(DEV_ENCRYPTION_KEYS)
    # The platform sandbox standing in for every platform (embedded mode, tests); empty in production,
    # where each platform's URLs default to the real API.
    sandbox_url: str | None = SANDBOX
    # Per platform key, its settings' values (validated by the platform's own model).
    platforms: dict[str, dict[str, Any]] = {}
    # Where the platform sends the browser back after consent (the gateway's public callback).
    oauth_redirect_base: str = "http://127.0.0.1:8000"
    http_timeout: float = 30.0
    # Retries of one request on throttling or 5xx before the work is handed back to the queue. A wait
    # the platform names that is longer than max_retry_wait defers the work instead of sleeping: a
    # worker sleeping inside its unit of work holds a database connection and its message's ack wait.
    max_retry_wait: float = 10.0
    max_retries: int = 6
    retry_base_wait: float = 1.0
    # The DM of a client is told this many days before a connection's token ends when it cannot be renewed.
    token_expiry_warning_days: int = 7
    # Backfill slices deferred by throttling more often than this fail their backfill.
    max_slice_deferrals: int = 50
    # How long one sync run waits for platforms that asked to wait before leaving them to the next run.
    sync_max_wait_seconds: float = 3600.0

    @model_validator(mode="after")
    def _platforms_are_valid(self) -> ResultsSettings:
        from clientpulse.results_ingest.platforms import REGISTRY

        unknown = set(self.platforms) - set(REGISTRY.keys())
        if unknown:
            raise ValueError(f"settings for unknown platforms {sorted(unknown)}; known: {', '.join(REGISTRY.keys())}")
        for spec in REGISTRY:
            self.platform_settings(spec)
        return self

    def development_defaults(self) -> list[str]:
        """The encryption keys, the built-in sandbox address, and each platform's sandbox credentials."""
        found = super().development_defaults()
        if self.sandbox_url == SANDBOX:
            # Its default points every platform at the development sandbox (production sets it empty).
            found.append("CLIENTPULSE_RESULTS_SANDBOX_URL")
        from clientpulse.results_ingest.platforms import REGISTRY

        for spec in REGISTRY:
            prefix = f"CLIENTPULSE_RESULTS_PLATFORMS__{spec.key.upper()}__"
            found += secrets_at_default(self.platform_settings(spec), prefix)
        return found

    @cached_property
    def _platform_cache(self) -> dict[str, Any]:
        return {}

    def platform_settings(self, spec: PlatformSpec[S]) -> S:
        """A platform's settings: the environment's values over its defaults, through the sandbox if set."""
        cached = self._platform_cache.get(spec.key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        values = dict(self.platforms.get(spec.key) or {})
        if self.sandbox_url:
            base = self.sandbox_url.rstrip("/")
            for name, path in spec.settings_model.sandbox_paths.items():
                values.setdefault(name, base + path)
        try:
            settings = spec.settings_model.model_validate(values)
        except ValidationError as exc:
            raise ValueError(
                f"CLIENTPULSE_RESULTS_PLATFORMS__{spec.key.upper()}__*: {exc.errors(include_url=False)}"
            ) from exc
        self._platform_cache[spec.key] = settings
        return settings
