"""Settings of the notifications service (``CLIENTPULSE_NOTIFICATIONS_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """The notifications service's settings; defaults run the embedded mode.

    Who the Heads and Executives are is not carried by any event, so it is configuration
    (JSON values in the environment):

    - ``CLIENTPULSE_NOTIFICATIONS_SQUAD_HEADS``: ``{"s-1": ["u-head-1"], …}``, the Heads of each squad;
      an overdue QBR escalates to the Heads of the client's squad.
    - ``CLIENTPULSE_NOTIFICATIONS_HEADS``: ``["u-head-1", …]``, every Head; told of a won deal whose
      owner is unknown.
    - ``CLIENTPULSE_NOTIFICATIONS_EXECUTIVES``: ``["u-exec", …]``, told when a monthly recalculation ends.

    Outgoing webhooks:

    - ``WEBHOOK_ALLOWED_NETWORKS``: CIDRs a webhook may target although they are private, loopback or
      link-local (``["127.0.0.0/8"]`` in tests); empty by default, so only public addresses are accepted.
    - ``WEBHOOK_REQUIRE_HTTPS``: refuse ``http://`` targets (on by default).
    - ``WEBHOOK_MAX_ATTEMPTS``, ``WEBHOOK_RETRY_DELAYS``: attempts per delivery and the waits between them.
    - ``WEBHOOK_DISABLE_AFTER``: consecutive failed attempts after which an endpoint is disabled.
    - ``WEBHOOK_SECRETS_KEY``: encrypts the signing secrets at rest (set it in production; changing it
      makes existing webhooks unusable, so register them again).

    Email (off unless ``SMTP_HOST`` is set): ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM`` and
    ``EMAIL_ADDRESSES`` (``{"u-42": "dana@agency.example"}``; users without an address get no email).
    """

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8005

    squad_heads: dict[str, list[str]] = Field(default_factory=dict)
    heads: list[str] = Field(default_factory=list)
    executives: list[str] = Field(default_factory=list)
    qbr_escalation_days: int = Field(default=14, ge=1)

    # Live stream: how long a subscriber waits for a local wake-up before it polls the table anyway
    # (catches notifications committed by another replica), and the heartbeat period.
    stream_poll_interval: float = Field(default=2.0, gt=0)
    stream_heartbeat_interval: float = Field(default=15.0, gt=0)

    webhook_secrets_key: SecretStr = SecretStr("clientpulse-dev-webhook-secrets-key-change-me")
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    webhook_require_https: bool = True
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_retry_delays: list[float] = Field(default_factory=lambda: [10.0, 30.0, 120.0, 600.0, 1800.0, 3600.0])
    webhook_disable_after: int = Field(default=15, ge=1)
    webhook_poll_interval: float = Field(default=1.0, gt=0)

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "clientpulse@localhost"
    email_addresses: dict[str, str] = Field(default_factory=dict)
