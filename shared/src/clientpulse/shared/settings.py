"""Settings base: one pydantic-settings class per service, each with its own env prefix.

Defaults run the embedded mode (SQLite under ``./var``, a local NATS); production sets the
environment. Secrets are ``SecretStr`` so they never reach a log line or a response.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from clientpulse.shared.money import ExchangeRate, RateTable

DEV_IDENTITY_SECRET = "clientpulse-dev-identity-secret-change-me"  # noqa: S105 - embedded mode only
DEV_JWT_SECRET = "clientpulse-dev-jwt-secret-change-me-in-production"  # noqa: S105 - embedded mode only


def var_dir() -> Path:
    """The embedded mode's data folder (``./var`` unless ``CLIENTPULSE_VAR_DIR`` says otherwise)."""
    import os

    return Path(os.environ.get("CLIENTPULSE_VAR_DIR", "var")).resolve()


# Settings every service shares, so one variable (``CLIENTPULSE_NATS_URL``) configures them all; the
# service's own prefix (``CLIENTPULSE_TIERING_NATS_URL``) still wins.
COMMON_FIELDS = frozenset(
    {
        "nats_url",
        "identity_secret",
        "log_level",
        "log_json",
        "otlp_endpoint",
        "migrate_on_start",
        "dev_mode",
        "base_currency",
        "exchange_rates",
        "database_pool_size",
    }
)
# Exit code of a service that refuses to start on development defaults (a configuration error).
EXIT_DEVELOPMENT_DEFAULTS = 2


class RateSetting(BaseModel):
    """``{"currency": "USD", "valid_from": "2026-01-01", "rate": "0.92"}``: base units per one USD."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    valid_from: date
    rate: Decimal = Field(gt=0)


class ExchangeRateSettings(BaseModel):
    """The base currency and dated exchange rates of a service that adds up money of several currencies.

    ``CLIENTPULSE_BASE_CURRENCY`` and ``CLIENTPULSE_EXCHANGE_RATES`` (JSON, ``[{"currency": "USD",
    "valid_from": "2026-01-01", "rate": "0.92"}]``) set them for every service; a service's own prefix
    (``CLIENTPULSE_TIERING_EXCHANGE_RATES``) still wins.
    """

    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    exchange_rates: list[RateSetting] = Field(default_factory=list)

    def rate_table(self) -> RateTable:
        """The configured rates as a conversion table."""
        return RateTable(
            self.base_currency, [ExchangeRate(r.currency, r.valid_from, r.rate) for r in self.exchange_rates]
        )


class _CommonEnvSource(EnvSettingsSource):
    """Reads the shared ``CLIENTPULSE_*`` variables, for the fields in ``COMMON_FIELDS`` only."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in COMMON_FIELDS:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class ServiceSettings(BaseSettings):
    """What every service process needs; a service subclasses it with its own ``env_prefix``.

    Subclasses set ``service_name`` and ``default_port``; everything else has an embedded default.
    """

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_", extra="ignore")

    service_name: str = "clientpulse"
    # The embedded development mode (``CLIENTPULSE_DEV_MODE``): only there may a secret keep the
    # development value built into the code; anywhere else the service refuses to start.
    dev_mode: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    # Connections each process keeps open to PostgreSQL (as many again may be opened in a burst): size
    # it so replicas × services × 2 × this stays under the server's max_connections.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    nats_url: str = Field(default="nats://127.0.0.1:4222")
    migrate_on_start: bool = True
    # The gateway signs the identity it forwards with this secret; services reject anything else.
    identity_secret: SecretStr = SecretStr(DEV_IDENTITY_SECRET)
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = None
    outbox_poll_interval: float = 0.5
    outbox_batch_size: int = 200
    consumer_max_deliver: int = 6
    consumer_backoff: list[float] = Field(default_factory=lambda: [0.5, 2.0, 5.0, 15.0, 30.0])
    consumer_ack_wait: float = 30.0
    # JetStream replicas of the streams this service declares: 3 on a three-node cluster.
    stream_replicas: int = Field(default=1, ge=1, le=5)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        common = _CommonEnvSource(settings_cls, env_prefix="CLIENTPULSE_")
        return init_settings, env_settings, common, dotenv_settings, file_secret_settings

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file per service under ``./var``."""
        if self.database_url:
            return self.database_url
        path = var_dir() / f"{self.service_name}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"

    def development_defaults(self) -> list[str]:
        """The environment variables of secrets still holding the development value built into the code.

        A subclass with secrets outside its own fields (nested settings, a development sandbox)
        extends the list.
        """
        return secrets_at_default(self, str(self.model_config.get("env_prefix", "")), common=COMMON_FIELDS)


def secrets_at_default(model: BaseModel, prefix: str, *, common: frozenset[str] = frozenset()) -> list[str]:
    """The variables (``prefix`` + field name) of ``model``'s secrets equal to a non-empty built-in default.

    Fields named in ``common`` are read from ``CLIENTPULSE_<FIELD>`` and are named so.
    """
    found = []
    for name, field in type(model).model_fields.items():
        default = field.get_default(call_default_factory=True)
        value = getattr(model, name)
        if not isinstance(default, SecretStr) or not default.get_secret_value():
            continue
        if isinstance(value, SecretStr) and value.get_secret_value() == default.get_secret_value():
            found.append(f"{'CLIENTPULSE_' if name in common else prefix}{name}".upper())
    return found


def development_defaults_message(settings: ServiceSettings) -> str | None:
    """Why ``settings`` may not run a service (development secrets outside dev mode), or None when it may."""
    if settings.dev_mode:
        return None
    names = settings.development_defaults()
    if not names:
        return None
    return (
        f"{settings.service_name} refuses to start: {', '.join(names)} "
        f"{'holds its' if len(names) == 1 else 'hold their'} built-in development value, which anyone "
        "reading the code knows; set real values (docs/security.md), or set CLIENTPULSE_DEV_MODE=true on a "
        "development machine"
    )


def refuse_development_defaults(settings: ServiceSettings) -> int | None:
    """Print why the service may not start and return its exit code (2), or None when it may start."""
    import sys

    message = development_defaults_message(settings)
    if message is None:
        return None
    print(f"error: {message}", file=sys.stderr)
    return EXIT_DEVELOPMENT_DEFAULTS
